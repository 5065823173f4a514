import { describe, expect, it } from 'vitest';
import { decideEnding, type EndingInput } from '../src/executors/final-state.js';

const base: EndingInput = {
  stopReason: null,
  stopMessage: '',
  terminalAccepted: false,
  lastStateType: 'RUNNING',
  exit: { code: 0, signal: null },
  startFailure: null,
};

describe('the final state the worker proposes', () => {
  it('proposes nothing once the runtime had its terminal state accepted', () => {
    expect(decideEnding({ ...base, terminalAccepted: true })).toEqual({ ending: 'reported', proposal: null });
  });

  it('proposes CRASHED with the exit code or signal when the process ends without a terminal state', () => {
    expect(decideEnding({ ...base, exit: { code: 3, signal: null } }).proposal).toEqual({
      type: 'CRASHED',
      message: 'the flow process exited with code 3 before reporting a final state',
    });
    expect(decideEnding({ ...base, exit: { code: null, signal: 'SIGKILL' } }).proposal?.message).toContain(
      'killed by signal SIGKILL',
    );
  });

  it('never speaks for a run it no longer holds, whatever the process did', () => {
    for (const stopReason of ['lost', 'lease-expired'] as const) {
      expect(decideEnding({ ...base, stopReason, exit: { code: null, signal: 'SIGKILL' } })).toEqual({
        ending: stopReason,
        proposal: null,
      });
      expect(
        decideEnding({ ...base, stopReason, exit: null, startFailure: { type: 'FAILED', message: 'x' } }).proposal,
      ).toBeNull();
    }
  });

  it('proposes nothing for a run suspended on a wait, though its process was killed: a later attempt settles it', () => {
    expect(
      decideEnding({ ...base, stopReason: 'suspended', lastStateType: 'PAUSED', exit: { code: null, signal: 'SIGKILL' } }),
    ).toEqual({ ending: 'suspended', proposal: null });
  });

  it('records a cancelled run CANCELLED unless the runtime already did', () => {
    expect(decideEnding({ ...base, stopReason: 'cancel', stopMessage: 'cancelled by alice' }).proposal).toEqual({
      type: 'CANCELLED',
      message: 'cancelled by alice',
    });
    expect(decideEnding({ ...base, stopReason: 'cancel', terminalAccepted: true })).toEqual({ ending: 'cancel', proposal: null });
    expect(decideEnding({ ...base, stopReason: 'cancel', exit: null }).proposal?.type).toBe('CANCELLED');
  });

  it('hands a started run back as CRASHED on shutdown, and one that never started back to the queue', () => {
    expect(decideEnding({ ...base, stopReason: 'drain', exit: { code: null, signal: 'SIGTERM' } }).proposal?.type).toBe(
      'CRASHED',
    );
    expect(decideEnding({ ...base, stopReason: 'drain', exit: null }).proposal).toEqual({
      type: 'SCHEDULED',
      message: 'worker shut down before the run started; back in the queue',
    });
  });

  it('reports why a run could not start', () => {
    const startFailure = { type: 'FAILED' as const, message: 'could not fetch the flow bundle: digest mismatch' };
    expect(decideEnding({ ...base, exit: null, startFailure })).toEqual({ ending: 'failed-to-start', proposal: startFailure });
  });

  it('after a refused proposal, only completes a pending cancellation', () => {
    expect(decideEnding({ ...base, stopReason: 'rejected' }).proposal).toBeNull();
    expect(decideEnding({ ...base, stopReason: 'rejected', lastStateType: 'CANCELLING' }).proposal?.type).toBe('CANCELLED');
  });
});
