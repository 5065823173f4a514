import { FAILED_STATES, isHeld, StateType } from '@outpost/sdk/contracts';
import type { Colors } from './colors.js';

export { animates, type Colors, colorsFor } from './colors.js';

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
