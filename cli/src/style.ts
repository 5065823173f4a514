import pc from 'picocolors';
import type { Env } from './settings.js';

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colours for a terminal, plain text otherwise: on when the stream is a TTY, or FORCE_COLOR is set
 * (not 0); off with NO_COLOR (https://no-color.org), TERM=dumb, or --json, whatever else says.
 */
export function colorsFor(isTTY: boolean, env: Env, json: boolean): Colors {
  const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  const off = json || (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || env.TERM === 'dumb';
  return pc.createColors(!off && (isTTY || force));
}

/** A state type in the colour people expect: green done, red failed, yellow on its way, grey waiting. */
export function stateColor(c: Colors, type: string, text: string = type): string {
  switch (type) {
    case 'COMPLETED':
      return c.green(text);
    case 'FAILED':
    case 'CRASHED':
      return c.red(text);
    case 'RUNNING':
    case 'PENDING':
    case 'CANCELLING':
      return c.yellow(text);
    case 'CANCELLED':
    case 'PAUSED':
    case 'SCHEDULED':
      return c.dim(text);
    default:
      return text;
  }
}

// Built from a string: a control character in a regex literal reads as a mistake.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Length as the terminal shows it: colour codes take no columns. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}
