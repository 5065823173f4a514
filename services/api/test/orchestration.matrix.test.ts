import { STATE_TRANSITIONS, StateType, TRANSITION_ACTORS } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { type Actor, judge, type RunSnapshot } from '../src/orchestration/rules.js';

const START = new Date('2030-01-01T12:00:00.000Z');
const DUE = new Date(START.getTime() + 1000);

/** `from -> to by actor`, one string a move, so sets compare and failures read plainly. */
function move(from: StateType, to: StateType, actor: Actor): string {
  return `${from} -> ${to} by ${actor}`;
}

/**
 * Every move the rules record for some proposal, under conditions that let a move happen: the run
 * is due, the proposer holds the run's attempt, a user names none, and the run has retries left
 * or not. Each proposal is tried with no name and with a name of its own, since a rename is a move
 * only when the name changes.
 */
function movesTheRulesMake(): Set<string> {
  const made = new Set<string>();
  for (const from of StateType.options) {
    for (const maxRetries of [0, 1]) {
      const run: RunSnapshot = {
        stateType: from,
        stateName: 'Current',
        attempt: 1,
        maxRetries,
        retryDelaySeconds: 0,
        expectedStartTime: START,
      };
      for (const to of StateType.options) {
        for (const actor of TRANSITION_ACTORS) {
          for (const name of [undefined, 'Scheduled', 'Renamed']) {
            const decision = judge(run, {
              state: { type: to, ...(name === undefined ? {} : { name }) },
              actor,
              attempt: actor === 'user' ? null : run.attempt,
              now: DUE,
            });
            if (decision.status !== 'ACCEPT') continue;
            let at = from;
            for (const record of decision.states) {
              made.add(move(at, record.type, actor));
              at = record.type;
            }
          }
        }
      }
    }
  }
  return made;
}

describe('the transition matrix', () => {
  it('lists exactly the moves the orchestration rules make, for every pair of states and every actor', () => {
    const listed = new Set(STATE_TRANSITIONS.flatMap((t) => t.by.map((actor) => move(t.from, t.to, actor))));
    const made = movesTheRulesMake();
    expect([...made].filter((m) => !listed.has(m)).sort()).toEqual([]);
    expect([...listed].filter((m) => !made.has(m)).sort()).toEqual([]);
  });

  it('names each from -> to pair once, so the docs table has one row a pair', () => {
    const pairs = STATE_TRANSITIONS.map((t) => `${t.from} -> ${t.to}`);
    expect(new Set(pairs).size).toBe(pairs.length);
  });
});
