import pc from 'picocolors';
import type { Env } from './load-env.js';

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
