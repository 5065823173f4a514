import type { ProposedState, StateType } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import {
  applyRetryPolicy,
  claimOnlyFromScheduled,
  completeOnlyFromRunning,
  pauseOnlyFromRunning,
  rejectUnlisted,
  renameScheduledBySystem,
  startRunning,
} from '../src/orchestration/transition-rules.js';
import type { Actor, ProposalInput, RunSnapshot } from '../src/orchestration/types.js';

const NOW = new Date('2030-01-01T12:00:00.000Z');
const PAST = new Date(NOW.getTime() - 60_000);
const FUTURE = new Date(NOW.getTime() + 90_500);

function run(stateType: StateType, overrides: Partial<RunSnapshot> = {}): RunSnapshot {
  return {
    stateType,
    stateName: 'x',
    attempt: 1,
    maxRetries: 2,
    retryDelaySeconds: 30,
    expectedStartTime: PAST,
    ...overrides,
  };
}

function propose(state: ProposedState | StateType, actor: Actor = 'run', attempt: number | null = 1): ProposalInput {
  return { state: typeof state === 'string' ? { type: state } : state, attempt, actor, now: NOW };
}

describe('claimOnlyFromScheduled', () => {
  it('aborts a second claim of a PENDING or RUNNING run', () => {
    expect(claimOnlyFromScheduled(run('PENDING'), propose('PENDING', 'worker'))?.status).toBe('ABORT');
    expect(claimOnlyFromScheduled(run('RUNNING'), propose('PENDING', 'worker'))?.status).toBe('ABORT');
  });

  it('accepts a claim of a due SCHEDULED run and makes a claim of a future one wait', () => {
    expect(claimOnlyFromScheduled(run('SCHEDULED'), propose('PENDING', 'worker'))).toEqual({
      status: 'ACCEPT',
      states: [{ type: 'PENDING', name: 'Pending', message: null, data: null, attempt: 1 }],
      attempt: 1,
      expectedStartTime: null,
      clearLease: false,
    });
    const early = claimOnlyFromScheduled(run('SCHEDULED', { expectedStartTime: FUTURE }), propose('PENDING', 'worker'));
    expect(early).toMatchObject({ status: 'WAIT', seconds: 91 });
  });

  it('rejects a claim of a PAUSED run and ignores other proposals', () => {
    expect(claimOnlyFromScheduled(run('PAUSED'), propose('PENDING', 'worker'))?.status).toBe('REJECT');
    expect(claimOnlyFromScheduled(run('SCHEDULED'), propose('RUNNING'))).toBeNull();
  });
});

describe('startRunning', () => {
  it('accepts RUNNING from PENDING and resumes a PAUSED run', () => {
    expect(startRunning(run('PENDING'), propose('RUNNING'))).toEqual({
      status: 'ACCEPT',
      states: [{ type: 'RUNNING', name: 'Running', message: null, data: null, attempt: 1 }],
      attempt: 1,
      expectedStartTime: null,
      clearLease: false,
    });
    expect(startRunning(run('PAUSED'), propose('RUNNING'))?.status).toBe('ACCEPT');
  });

  it('accepts RUNNING from RUNNING of the same attempt without appending a record', () => {
    expect(startRunning(run('RUNNING', { stateName: 'Running' }), propose('RUNNING'))).toEqual({
      status: 'ACCEPT',
      states: [],
      attempt: 1,
      expectedStartTime: null,
      clearLease: false,
    });
    expect(startRunning(run('RUNNING', { stateName: 'Running' }), propose({ type: 'RUNNING', name: 'Running' }))).toMatchObject({
      states: [],
    });
  });

  it('records a rename while running', () => {
    const decision = startRunning(run('RUNNING', { stateName: 'Running' }), propose({ type: 'RUNNING', name: 'Retrying' }));
    expect(decision).toMatchObject({ status: 'ACCEPT', states: [{ type: 'RUNNING', name: 'Retrying' }] });
  });

  it('makes a SCHEDULED run wait for its start time by the given clock and rejects a due unclaimed one', () => {
    const early = startRunning(run('SCHEDULED', { expectedStartTime: FUTURE }), propose('RUNNING'));
    expect(early).toEqual({ status: 'WAIT', reason: 'the run is not due yet', seconds: 91 });
    expect(startRunning(run('SCHEDULED'), propose('RUNNING'))?.status).toBe('REJECT');
  });

  it('ignores proposals of other states', () => {
    expect(startRunning(run('PENDING'), propose('COMPLETED'))).toBeNull();
  });
});

describe('pauseOnlyFromRunning', () => {
  it('accepts PAUSED from RUNNING only', () => {
    expect(pauseOnlyFromRunning(run('RUNNING'), propose({ type: 'PAUSED', name: 'Suspended' }))).toMatchObject({
      status: 'ACCEPT',
      states: [{ type: 'PAUSED', name: 'Suspended', attempt: 1 }],
      clearLease: false,
    });
    for (const from of ['SCHEDULED', 'PENDING', 'PAUSED'] as const) {
      expect(pauseOnlyFromRunning(run(from), propose('PAUSED'))?.status).toBe('REJECT');
    }
  });
});

describe('completeOnlyFromRunning', () => {
  it('accepts COMPLETED from RUNNING with its result reference and drops the lease', () => {
    const proposal = propose({ type: 'COMPLETED', name: 'Cached', data: { ref: 'file:///results/1' } });
    expect(completeOnlyFromRunning(run('RUNNING'), proposal)).toEqual({
      status: 'ACCEPT',
      states: [{ type: 'COMPLETED', name: 'Cached', message: null, data: { ref: 'file:///results/1' }, attempt: 1 }],
      attempt: 1,
      expectedStartTime: null,
      clearLease: true,
    });
  });

  it('rejects COMPLETED from a run that has not started running', () => {
    for (const from of ['SCHEDULED', 'PENDING', 'PAUSED'] as const) {
      expect(completeOnlyFromRunning(run(from), propose('COMPLETED'))?.status).toBe('REJECT');
    }
  });
});

describe('applyRetryPolicy', () => {
  it('records the failure and reschedules on the next attempt after the retry delay while retries are left', () => {
    const decision = applyRetryPolicy(run('RUNNING', { attempt: 2 }), propose({ type: 'FAILED', message: 'boom' }, 'run', 2));
    expect(decision).toEqual({
      status: 'ACCEPT',
      states: [
        { type: 'FAILED', name: 'Failed', message: 'boom', data: null, attempt: 2 },
        { type: 'SCHEDULED', name: 'AwaitingRetry', message: 'Retry 2 of 2 after 30 s', data: null, attempt: 3 },
      ],
      attempt: 3,
      expectedStartTime: new Date(NOW.getTime() + 30_000),
      clearLease: true,
    });
  });

  it('ends the run when no retries are left', () => {
    const decision = applyRetryPolicy(run('RUNNING', { attempt: 3 }), propose('FAILED', 'run', 3));
    expect(decision).toEqual({
      status: 'ACCEPT',
      states: [{ type: 'FAILED', name: 'Failed', message: null, data: null, attempt: 3 }],
      attempt: 3,
      expectedStartTime: null,
      clearLease: true,
    });
  });

  it('applies the same policy to a crash reported by the lease loop from PENDING, RUNNING or PAUSED', () => {
    for (const from of ['PENDING', 'RUNNING', 'PAUSED'] as const) {
      const decision = applyRetryPolicy(run(from), propose({ type: 'CRASHED', message: 'lease expired' }, 'system', null));
      expect(decision).toMatchObject({
        status: 'ACCEPT',
        states: [
          { type: 'CRASHED', attempt: 1 },
          { type: 'SCHEDULED', name: 'AwaitingRetry', attempt: 2 },
        ],
        attempt: 2,
      });
    }
    const noRetries = applyRetryPolicy(run('RUNNING', { maxRetries: 0 }), propose('CRASHED', 'system', null));
    expect(noRetries).toMatchObject({ status: 'ACCEPT', states: [{ type: 'CRASHED' }], attempt: 1, clearLease: true });
  });

  it('rejects a failure of a run that never started', () => {
    expect(applyRetryPolicy(run('SCHEDULED'), propose('CRASHED', 'system', null))?.status).toBe('REJECT');
  });
});

describe('renameScheduledBySystem', () => {
  it('marks a due SCHEDULED run Late without changing its attempt', () => {
    const decision = renameScheduledBySystem(
      run('SCHEDULED', { stateName: 'Scheduled' }),
      propose({ type: 'SCHEDULED', name: 'Late' }, 'system', null),
    );
    expect(decision).toEqual({
      status: 'ACCEPT',
      states: [{ type: 'SCHEDULED', name: 'Late', message: null, data: null, attempt: 1 }],
      attempt: 1,
      expectedStartTime: null,
      clearLease: false,
    });
  });

  it('refuses to mark Late a run that is not due or was claimed meanwhile', () => {
    const late = propose({ type: 'SCHEDULED', name: 'Late' }, 'system', null);
    expect(renameScheduledBySystem(run('SCHEDULED', { expectedStartTime: FUTURE }), late)?.status).toBe('REJECT');
    expect(renameScheduledBySystem(run('PENDING'), late)?.status).toBe('REJECT');
  });

  it('accepts marking an already late run again without a new record', () => {
    const decision = renameScheduledBySystem(
      run('SCHEDULED', { stateName: 'Late' }),
      propose({ type: 'SCHEDULED', name: 'Late' }, 'system', null),
    );
    expect(decision).toMatchObject({ status: 'ACCEPT', states: [] });
  });

  it('rejects a worker or run token rescheduling a run', () => {
    expect(renameScheduledBySystem(run('SCHEDULED'), propose('SCHEDULED', 'worker'))?.status).toBe('REJECT');
    expect(renameScheduledBySystem(run('RUNNING'), propose('SCHEDULED', 'run'))?.status).toBe('REJECT');
  });
});

describe('rejectUnlisted', () => {
  it('rejects with a reason naming the transition and the actor', () => {
    expect(rejectUnlisted(run('RUNNING', { stateName: 'Running' }), propose('CANCELLING', 'worker'))).toEqual({
      status: 'REJECT',
      reason: 'RUNNING -> CANCELLING is not an allowed transition for worker',
    });
  });
});
