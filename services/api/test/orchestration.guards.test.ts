import type { ProposedState, StateType } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import {
  cancelForUser,
  cancellingExitsOnlyToCancelled,
  fenceAttempt,
  keepTerminalFinal,
  limitUserProposals,
  requireHolderAttempt,
  retryFinishedRunForUser,
} from '../src/orchestration/guard-rules.js';
import type { Actor, ProposalInput, RunSnapshot } from '../src/orchestration/types.js';

const NOW = new Date('2030-01-01T12:00:00.000Z');

function run(stateType: StateType, overrides: Partial<RunSnapshot> = {}): RunSnapshot {
  return {
    stateType,
    stateName: 'x',
    attempt: 2,
    maxRetries: 3,
    retryDelaySeconds: 30,
    expectedStartTime: new Date(NOW.getTime() - 60_000),
    ...overrides,
  };
}

function propose(state: ProposedState | StateType, actor: Actor, attempt: number | null = 2): ProposalInput {
  return { state: typeof state === 'string' ? { type: state } : state, attempt, actor, now: NOW };
}

const TERMINAL: StateType[] = ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'];

describe('fenceAttempt', () => {
  it('answers STALE when the proposer holds an older or newer attempt than the run', () => {
    expect(fenceAttempt(run('RUNNING'), propose('COMPLETED', 'run', 1))?.status).toBe('STALE');
    expect(fenceAttempt(run('RUNNING'), propose('COMPLETED', 'worker', 3))?.status).toBe('STALE');
  });

  it('passes proposals that hold the current attempt or name none', () => {
    expect(fenceAttempt(run('RUNNING'), propose('COMPLETED', 'run', 2))).toBeNull();
    expect(fenceAttempt(run('RUNNING'), propose('CANCELLING', 'user', null))).toBeNull();
  });
});

describe('requireHolderAttempt', () => {
  it('rejects worker and run proposals that name no attempt, because they could not be fenced', () => {
    expect(requireHolderAttempt(run('RUNNING'), propose('COMPLETED', 'worker', null))?.status).toBe('REJECT');
    expect(requireHolderAttempt(run('RUNNING'), propose('COMPLETED', 'run', null))?.status).toBe('REJECT');
  });

  it('lets users and loops act without an attempt', () => {
    expect(requireHolderAttempt(run('RUNNING'), propose('CANCELLING', 'user', null))).toBeNull();
    expect(requireHolderAttempt(run('RUNNING'), propose('CRASHED', 'system', null))).toBeNull();
  });

  it('lets a worker claim without an attempt, since it holds none before the claim', () => {
    expect(requireHolderAttempt(run('SCHEDULED'), propose('PENDING', 'worker', null))).toBeNull();
  });
});

describe('limitUserProposals', () => {
  it('rejects every user proposal other than a cancel, a hold, a release or a retry, with a reason', () => {
    for (const type of ['PENDING', 'RUNNING', 'COMPLETED', 'FAILED', 'CRASHED'] as const) {
      const decision = limitUserProposals(run('RUNNING'), propose(type, 'user', null));
      expect(decision?.status).toBe('REJECT');
      expect(decision && 'reason' in decision ? decision.reason : '').toContain(type);
    }
  });

  it('passes user cancels and retries, and proposals from anyone else', () => {
    expect(limitUserProposals(run('RUNNING'), propose('CANCELLING', 'user', null))).toBeNull();
    expect(limitUserProposals(run('RUNNING'), propose('CANCELLED', 'user', null))).toBeNull();
    expect(limitUserProposals(run('FAILED'), propose('SCHEDULED', 'user', null))).toBeNull();
    expect(limitUserProposals(run('RUNNING'), propose('COMPLETED', 'run'))).toBeNull();
  });
});

describe('retryFinishedRunForUser', () => {
  it('reschedules every terminal run now as AwaitingRetry on the next attempt and drops the lease', () => {
    for (const type of TERMINAL) {
      expect(retryFinishedRunForUser(run(type), propose('SCHEDULED', 'user', null))).toEqual({
        status: 'ACCEPT',
        states: [{ type: 'SCHEDULED', name: 'AwaitingRetry', message: null, data: null, attempt: 3 }],
        attempt: 3,
        expectedStartTime: NOW,
        clearLease: true,
      });
    }
  });

  it('rejects a retry of a run that has not finished', () => {
    // A PAUSED run proposed SCHEDULED by a user is a release, judged before the retry rule.
    for (const type of ['SCHEDULED', 'PENDING', 'RUNNING', 'CANCELLING'] as const) {
      expect(retryFinishedRunForUser(run(type), propose('SCHEDULED', 'user', null))?.status).toBe('REJECT');
    }
  });

  it('rejects a retry of a finished subflow run, which no worker could claim', () => {
    const decision = retryFinishedRunForUser(run('FAILED', { claimable: false }), propose('SCHEDULED', 'user', null));
    expect(decision).toEqual({ status: 'REJECT', reason: 'a subflow run runs inside its parent; retry the parent run' });
  });

  it('leaves SCHEDULED proposals from loops to other rules', () => {
    expect(retryFinishedRunForUser(run('FAILED'), propose('SCHEDULED', 'system', null))).toBeNull();
  });
});

describe('cancelForUser', () => {
  it('cancels a SCHEDULED or PAUSED run at once, whichever cancel state was proposed', () => {
    for (const from of ['SCHEDULED', 'PAUSED'] as const) {
      for (const to of ['CANCELLING', 'CANCELLED'] as const) {
        const decision = cancelForUser(run(from), propose({ type: to, message: 'not needed' }, 'user', null));
        expect(decision).toEqual({
          status: 'ACCEPT',
          states: [{ type: 'CANCELLED', name: 'Cancelled', message: 'not needed', data: null, attempt: 2 }],
          attempt: 2,
          expectedStartTime: null,
          clearLease: true,
        });
      }
    }
  });

  it('moves a PENDING or RUNNING run to CANCELLING and keeps the lease so its worker can stop it', () => {
    for (const from of ['PENDING', 'RUNNING'] as const) {
      const decision = cancelForUser(run(from), propose('CANCELLED', 'user', null));
      expect(decision).toEqual({
        status: 'ACCEPT',
        states: [{ type: 'CANCELLING', name: 'Cancelling', message: null, data: null, attempt: 2 }],
        attempt: 2,
        expectedStartTime: null,
        clearLease: false,
      });
    }
  });

  it('rejects cancelling a run that is already cancelling or finished', () => {
    expect(cancelForUser(run('CANCELLING'), propose('CANCELLING', 'user', null))).toEqual({
      status: 'REJECT',
      reason: 'the run is already cancelling',
    });
    for (const type of TERMINAL) {
      expect(cancelForUser(run(type), propose('CANCELLED', 'user', null))?.status).toBe('REJECT');
    }
  });

  it('leaves cancel proposals from workers and loops to other rules', () => {
    expect(cancelForUser(run('RUNNING'), propose('CANCELLED', 'worker'))).toBeNull();
  });
});

describe('keepTerminalFinal', () => {
  it('rejects every proposal on a finished run', () => {
    for (const from of TERMINAL) {
      for (const to of ['RUNNING', 'COMPLETED', 'FAILED', 'CRASHED', 'PENDING'] as const) {
        expect(keepTerminalFinal(run(from), propose(to, 'run'))?.status).toBe('REJECT');
      }
    }
  });

  it('passes proposals on runs that have not finished', () => {
    expect(keepTerminalFinal(run('RUNNING'), propose('COMPLETED', 'run'))).toBeNull();
  });
});

describe('cancellingExitsOnlyToCancelled', () => {
  it('accepts CANCELLED for a cancelling run and drops the lease', () => {
    const decision = cancellingExitsOnlyToCancelled(run('CANCELLING'), propose('CANCELLED', 'worker'));
    expect(decision).toEqual({
      status: 'ACCEPT',
      states: [{ type: 'CANCELLED', name: 'Cancelled', message: null, data: null, attempt: 2 }],
      attempt: 2,
      expectedStartTime: null,
      clearLease: true,
    });
  });

  it('rejects anything else so the runtime adopts CANCELLING and stops', () => {
    for (const to of ['RUNNING', 'COMPLETED', 'FAILED', 'CRASHED', 'PAUSED', 'PENDING'] as const) {
      expect(cancellingExitsOnlyToCancelled(run('CANCELLING'), propose(to, 'run'))?.status).toBe('REJECT');
    }
  });

  it('passes proposals on runs that are not cancelling', () => {
    expect(cancellingExitsOnlyToCancelled(run('RUNNING'), propose('CANCELLED', 'worker'))).toBeNull();
  });
});
