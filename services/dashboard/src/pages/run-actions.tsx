import { type FlowRun, isTerminal, type ProposedState } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';

type Outcome = { kind: 'success' | 'error'; text: string } | null;

/**
 * Cancel asks a live run to stop (CANCELLING; its worker kills it and reports CANCELLED).
 * Retry proposes SCHEDULED for a finished run, which the server turns into a new attempt.
 * Each click carries a fresh transition id, so a resent request is answered once.
 */
export function RunActions({ run, onChanged }: { run: FlowRun; onChanged: () => Promise<void> | void }) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>(null);
  const [confirming, setConfirming] = useState(false);
  const terminal = isTerminal(run.state.type);
  const canCancel = !terminal && run.state.type !== 'CANCELLING';

  const propose = async (state: ProposedState, verb: string) => {
    setBusy(true);
    setOutcome(null);
    const result = await api.call('flowRunsSetState', {
      params: { id: run.id },
      body: { transitionId: crypto.randomUUID(), state },
    });
    setBusy(false);
    if (!result.ok) {
      setOutcome({ kind: 'error', text: `Could not ${verb}: ${describeFailure(result)}` });
    } else if (result.data.status === 'ACCEPT') {
      setOutcome({ kind: 'success', text: verb === 'cancel' ? 'Cancellation requested.' : 'Run scheduled again.' });
    } else {
      const why = result.data.reason ?? `the run is ${result.data.state.name}`;
      setOutcome({ kind: 'error', text: `Could not ${verb}: ${why}.` });
    }
    await onChanged();
  };

  return (
    <div className="actions">
      {outcome && (
        <span className={`outcome outcome-${outcome.kind}`} role="status" data-testid="run-action-outcome">
          {outcome.text}
        </span>
      )}
      <button
        type="button"
        className="button"
        disabled={!canCancel || busy}
        onClick={() => setConfirming(true)}
        data-testid="run-cancel"
      >
        Cancel
      </button>
      <button
        type="button"
        className="button button-primary"
        disabled={!terminal || busy}
        onClick={() => void propose({ type: 'SCHEDULED' }, 'retry')}
        data-testid="run-retry"
      >
        Retry
      </button>
      {confirming && (
        <Dialog title={`Cancel ${run.name}?`} onClose={() => setConfirming(false)} testId="run-cancel-dialog">
          <p>
            The run stops: its worker ends the flow's process (after a grace period for cleanup) and the run ends CANCELLED. It
            can be retried afterwards as a new attempt.
          </p>
          <div className="dialog-actions">
            <button type="button" className="button" onClick={() => setConfirming(false)} data-testid="run-cancel-keep">
              Keep running
            </button>
            <button
              type="button"
              className="button button-danger-solid"
              disabled={busy}
              onClick={() => {
                setConfirming(false);
                void propose({ type: 'CANCELLING' }, 'cancel');
              }}
              data-testid="run-cancel-confirm"
            >
              Cancel run
            </button>
          </div>
        </Dialog>
      )}
    </div>
  );
}
