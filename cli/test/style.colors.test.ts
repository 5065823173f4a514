import { StateType } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { colorsFor, stateColor, visibleLength } from '../src/style.js';

const on = colorsFor(false, { FORCE_COLOR: '1' }, false);
const plain = colorsFor(true, { NO_COLOR: '1' }, false);

describe('state colours', () => {
  test('every held state is yellow, a failed end red, a completed one green, and the rest dim', () => {
    const expected: Record<StateType, (s: string) => string> = {
      COMPLETED: on.green,
      FAILED: on.red,
      CRASHED: on.red,
      PENDING: on.yellow,
      RUNNING: on.yellow,
      CANCELLING: on.yellow,
      CANCELLED: on.dim,
      PAUSED: on.dim,
      SCHEDULED: on.dim,
    };
    for (const type of StateType.options) expect(stateColor(on, type), type).toBe(expected[type](type));
  });

  test('a state the contract does not know, or NO_COLOR, leaves the text as it is', () => {
    expect(stateColor(on, 'SOMETHING_NEW')).toBe('SOMETHING_NEW');
    for (const type of StateType.options) expect(stateColor(plain, type)).toBe(type);
    expect(visibleLength(stateColor(on, 'RUNNING', 'Running'))).toBe('Running'.length);
  });
});
