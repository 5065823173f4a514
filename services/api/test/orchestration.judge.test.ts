import { CONFIGURATION_ERROR, isTerminal, type ProposedState, StateType } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import {
  type Actor,
  type Decision,
  describeTransition,
  judge,
  type ProposalInput,
  type RunSnapshot,
} from '../src/orchestration/rules.js';

const START = new Date('2030-01-01T12:00:00.000Z');
const ACTORS: Actor[] = ['worker', 'run', 'user', 'system'];

function snapshot(stateType: StateType, overrides: Partial<RunSnapshot> = {}): RunSnapshot {
  return {
    stateType,
    stateName: 'Scheduled',
    attempt: 1,
    maxRetries: 1,
    retryDelaySeconds: 10,
    expectedStartTime: START,
    ...overrides,
  };
}

/** Applies an accepted decision the way the caller does, so scenarios can be played through. */
function apply(run: RunSnapshot, decision: Decision): RunSnapshot {
  if (decision.status !== 'ACCEPT') throw new Error(`expected ACCEPT, got ${decision.status}: ${JSON.stringify(decision)}`);
  const last = decision.states.at(-1);
  return {
    ...run,
    stateType: last?.type ?? run.stateType,
    stateName: last?.name ?? run.stateName,
    attempt: decision.attempt,
    expectedStartTime: decision.expectedStartTime ?? run.expectedStartTime,
  };
}

function at(seconds: number, state: ProposedState, actor: Actor, attempt: number | null): ProposalInput {
  return { state, actor, attempt, now: new Date(START.getTime() + seconds * 1000) };
}

describe('judge', () => {
  it('hands a claimed run that never started back to the queue on the same attempt, and nothing else', () => {
    const claimed = apply(snapshot('SCHEDULED'), judge(snapshot('SCHEDULED'), at(1, { type: 'PENDING' }, 'worker', null)));
    for (const actor of ['worker', 'run', 'system'] as const) {
      const back = judge(claimed, at(2, { type: 'SCHEDULED', message: 'stopping' }, actor, actor === 'system' ? null : 1));
      expect(back).toMatchObject({
        status: 'ACCEPT',
        attempt: 1,
        clearLease: true,
        states: [{ type: 'SCHEDULED', name: 'Scheduled' }],
      });
    }
    // A loop renaming waiting runs never pulls back a claimed one; people cancel, they do not un-claim.
    expect(judge(claimed, at(2, { type: 'SCHEDULED', name: 'Late' }, 'system', null)).status).toBe('REJECT');
    expect(judge(claimed, at(2, { type: 'SCHEDULED' }, 'user', null)).status).toBe('REJECT');
    // Once the run started, only FAILED or CRASHED end the attempt.
    const running = apply(claimed, judge(claimed, at(2, { type: 'RUNNING' }, 'run', 1)));
    expect(judge(running, at(3, { type: 'SCHEDULED' }, 'worker', 1)).status).toBe('REJECT');
  });

  it('ends a run on a configuration error whatever retries it has left, and retries a plain failure', () => {
    let run = snapshot('SCHEDULED', { maxRetries: 3 });
    run = apply(run, judge(run, at(1, { type: 'PENDING' }, 'worker', null)));
    const misconfigured = judge(
      run,
      at(2, { type: 'FAILED', name: CONFIGURATION_ERROR, message: 'secret "DB_PASSWORD" is not set' }, 'worker', 1),
    );
    expect(misconfigured).toMatchObject({
      status: 'ACCEPT',
      attempt: 1,
      states: [{ type: 'FAILED', name: CONFIGURATION_ERROR }],
    });
    expect(misconfigured.status === 'ACCEPT' && misconfigured.states).toHaveLength(1);
    const plain = judge(run, at(2, { type: 'FAILED', message: 'bundle download failed' }, 'worker', 1));
    expect(plain).toMatchObject({
      status: 'ACCEPT',
      attempt: 2,
      states: [{ type: 'FAILED' }, { type: 'SCHEDULED', name: 'AwaitingRetry' }],
    });
  });

  it('plays a run through a failure, an automatic retry and a completion', () => {
    let run = snapshot('SCHEDULED');
    run = apply(run, judge(run, at(1, { type: 'PENDING' }, 'worker', null)));
    run = apply(run, judge(run, at(2, { type: 'RUNNING' }, 'run', 1)));
    const failed = judge(run, at(3, { type: 'FAILED', message: 'boom' }, 'run', 1));
    run = apply(run, failed);
    expect(run).toMatchObject({ stateType: 'SCHEDULED', stateName: 'AwaitingRetry', attempt: 2 });
    expect(run.expectedStartTime).toEqual(new Date(START.getTime() + 13_000));

    expect(judge(run, at(5, { type: 'RUNNING' }, 'run', 2))).toMatchObject({ status: 'WAIT', seconds: 8 });
    expect(judge(run, at(6, { type: 'COMPLETED' }, 'run', 1)).status).toBe('STALE');

    run = apply(run, judge(run, at(13, { type: 'PENDING' }, 'worker', null)));
    run = apply(run, judge(run, at(14, { type: 'RUNNING' }, 'run', 2)));
    run = apply(run, judge(run, at(15, { type: 'COMPLETED' }, 'run', 2)));
    expect(run).toMatchObject({ stateType: 'COMPLETED', attempt: 2 });
    expect(judge(run, at(16, { type: 'FAILED' }, 'worker', 2)).status).toBe('REJECT');
  });

  it('lets a user cancel a running run and the lease loop finish the cancel once the worker is gone', () => {
    let run = snapshot('RUNNING', { stateName: 'Running' });
    run = apply(run, judge(run, at(1, { type: 'CANCELLED' }, 'user', null)));
    expect(run.stateType).toBe('CANCELLING');
    expect(judge(run, at(2, { type: 'COMPLETED' }, 'run', 1)).status).toBe('REJECT');
    expect(judge(run, at(2, { type: 'CANCELLING' }, 'user', null))).toEqual({
      status: 'REJECT',
      reason: 'the run is already cancelling',
    });
    const expired = judge(run, at(30, { type: 'CANCELLED', message: 'lease expired' }, 'system', null));
    expect(expired).toMatchObject({ status: 'ACCEPT', clearLease: true, states: [{ type: 'CANCELLED' }] });
  });

  it('lets a user retry a cancelled run on a fresh attempt and fences the old holder out', () => {
    let run = snapshot('CANCELLED', { stateName: 'Cancelled', attempt: 4 });
    run = apply(run, judge(run, at(1, { type: 'SCHEDULED' }, 'user', null)));
    expect(run).toMatchObject({ stateType: 'SCHEDULED', stateName: 'AwaitingRetry', attempt: 5 });
    expect(run.expectedStartTime).toEqual(at(1, { type: 'SCHEDULED' }, 'user', null).now);
    expect(judge(run, at(2, { type: 'RUNNING' }, 'run', 4)).status).toBe('STALE');
  });

  it('resumes a suspended run on a new attempt, due now, that the retry policy does not count', () => {
    let run = snapshot('PAUSED', { stateName: 'Suspended', attempt: 1, maxRetries: 1 });
    for (const actor of ['user', 'worker', 'run'] as const) {
      expect(judge(run, at(1, { type: 'SCHEDULED' }, actor, actor === 'user' ? null : 1)).status).toBe('REJECT');
    }
    const resumed = judge(run, at(5, { type: 'SCHEDULED', name: 'Resuming' }, 'system', null));
    expect(resumed).toMatchObject({ status: 'ACCEPT', attempt: 2, clearLease: true, states: [{ name: 'Resuming', attempt: 2 }] });
    run = { ...apply(run, resumed), resumes: 1 };
    expect(run.expectedStartTime).toEqual(at(5, { type: 'SCHEDULED' }, 'system', null).now);
    run = apply(run, judge(run, at(6, { type: 'PENDING' }, 'worker', null)));
    run = apply(run, judge(run, at(7, { type: 'RUNNING' }, 'run', 2)));
    // Attempt 2 is the first try after the resume: its failure still has the run's one retry.
    const failed = judge(run, at(8, { type: 'FAILED' }, 'run', 2));
    expect(failed).toMatchObject({
      status: 'ACCEPT',
      attempt: 3,
      states: [{ type: 'FAILED' }, { message: 'Retry 1 of 1 after 10 s' }],
    });
  });

  it('answers STALE before any other rule, even on a finished run', () => {
    expect(judge(snapshot('COMPLETED', { attempt: 2 }), at(0, { type: 'RUNNING' }, 'run', 1)).status).toBe('STALE');
  });

  it('never lets anything but a user retry leave a terminal state', () => {
    for (const from of StateType.options.filter(isTerminal)) {
      for (const to of StateType.options) {
        for (const actor of ACTORS) {
          const decision = judge(snapshot(from), at(0, { type: to }, actor, actor === 'user' ? null : 1));
          const retry = actor === 'user' && to === 'SCHEDULED';
          expect(decision.status, `${from} -> ${to} by ${actor}`).toBe(retry ? 'ACCEPT' : 'REJECT');
        }
      }
    }
  });

  it('drops the lease whenever a decision ends an attempt, and only moves the attempt forward by one', () => {
    for (const from of StateType.options) {
      for (const to of StateType.options) {
        for (const actor of ACTORS) {
          const run = snapshot(from, { expectedStartTime: new Date(START.getTime() - 1000) });
          const decision = judge(run, at(0, { type: to }, actor, actor === 'user' || actor === 'system' ? null : 1));
          if (decision.status !== 'ACCEPT') continue;
          const label = `${from} -> ${to} by ${actor}`;
          const last = decision.states.at(-1);
          if (last && (isTerminal(last.type) || decision.attempt !== run.attempt)) expect(decision.clearLease, label).toBe(true);
          expect([run.attempt, run.attempt + 1], label).toContain(decision.attempt);
          // A new attempt is a retry, or the resume of a suspended run.
          const next = from === 'PAUSED' && to === 'SCHEDULED' ? 'Resuming' : 'AwaitingRetry';
          if (decision.attempt !== run.attempt) expect(last, label).toMatchObject({ type: 'SCHEDULED', name: next });
          for (const record of decision.states) expect([run.attempt, run.attempt + 1], label).toContain(record.attempt);
        }
      }
    }
  });

  it('never lets a user put a run into an execution state, and lets one hold only a run nobody claimed', () => {
    for (const from of StateType.options) {
      for (const to of ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CRASHED'] as const) {
        expect(judge(snapshot(from), at(0, { type: to }, 'user', null)).status).toBe('REJECT');
      }
      const held = judge(snapshot(from), at(0, { type: 'PAUSED' }, 'user', null)).status;
      expect(held).toBe(from === 'SCHEDULED' ? 'ACCEPT' : 'REJECT');
    }
  });

  it('releases a held run on its attempt, and refuses to release a run suspended on a wait', () => {
    const released = judge(snapshot('PAUSED', { stateName: 'Paused' }), at(0, { type: 'SCHEDULED' }, 'user', null));
    expect(released).toMatchObject({ status: 'ACCEPT', attempt: 1, expectedStartTime: null });
    expect(released.status === 'ACCEPT' ? released.states.map((s) => [s.type, s.name]) : []).toEqual([
      ['SCHEDULED', 'Scheduled'],
    ]);
    const suspended = judge(snapshot('PAUSED', { stateName: 'Suspended' }), at(0, { type: 'SCHEDULED' }, 'user', null));
    expect(suspended).toEqual({
      status: 'REJECT',
      reason: 'the run is suspended on a durable wait: resolve the wait, or cancel the run',
    });
  });

  it('refuses to let a worker claim a run twice, even after a lost claim response', () => {
    const claimed = snapshot('PENDING', { stateName: 'Pending' });
    expect(judge(claimed, at(0, { type: 'PENDING' }, 'worker', 1)).status).toBe('ABORT');
    expect(judge(claimed, at(0, { type: 'PENDING' }, 'worker', null)).status).toBe('ABORT');
    expect(judge(snapshot('RUNNING'), at(0, { type: 'PENDING' }, 'system', null)).status).toBe('ABORT');
  });

  it('describes transitions with state names where they differ from the defaults', () => {
    const run = snapshot('SCHEDULED', { stateName: 'Late' });
    expect(describeTransition(run, at(0, { type: 'PENDING' }, 'worker', 1))).toBe('SCHEDULED/Late -> PENDING');
  });
});
