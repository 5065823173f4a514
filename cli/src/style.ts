import { FAILED_STATES, isHeld, StateType } from '@outpost/sdk/contracts';
import pc from 'picocolors';
import type { Env } from './settings.js';

export type Colors = ReturnType<typeof pc.createColors>;

/**
 * Colours for a terminal, plain text otherwise: on when the stream is a TTY, or FORCE_COLOR is set
 * (not 0); off with NO_COLOR (https://no-color.org), TERM=dumb, or --json, whatever else says.
 */
export function colorsFor(isTTY: boolean, env: Env, json: boolean): Colors {
  const force = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  return pc.createColors(!escapesOff(env, json) && (isTTY || force));
}

/**
 * Whether a spinner may animate on a stream: a terminal only, under the same rules as colour. FORCE_COLOR
 * colours a pipe but does not make it a screen, so it never turns a spinner on.
 */
export function animates(isTTY: boolean, env: Env, json: boolean): boolean {
  return isTTY && !escapesOff(env, json);
}

/** --json, NO_COLOR (https://no-color.org) and TERM=dumb each ask for text without escape sequences. */
function escapesOff(env: Env, json: boolean): boolean {
  return json || (env.NO_COLOR !== undefined && env.NO_COLOR !== '') || env.TERM === 'dumb';
}

/** A state type in the colour people expect: green done, red failed, yellow held by a worker, grey waiting or cancelled. */
export function stateColor(c: Colors, type: string, text: string = type): string {
  const known = StateType.safeParse(type);
  if (!known.success) return text;
  if (known.data === 'COMPLETED') return c.green(text);
  if (FAILED_STATES.includes(known.data)) return c.red(text);
  if (isHeld(known.data)) return c.yellow(text);
  return c.dim(text);
}

// Built from a string: a control character in a regex literal reads as a mistake.
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/** Length as the terminal shows it: colour codes take no columns. */
export function visibleLength(text: string): number {
  return text.replace(ANSI, '').length;
}
