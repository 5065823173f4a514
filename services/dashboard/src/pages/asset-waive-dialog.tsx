import type { AssetCheckStatus } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';
import { DialogActions } from '../components/form-field.js';
import { Notice } from '../components/notice.js';

/**
 * Waive a failed blocking check so downstream materialisation may go on: for the failed
 * partition or for every partition, with a reason the audit log keeps. Only admins see it; the
 * API refuses anyone else anyway.
 */
export function WaiveDialog({
  assetKey,
  check,
  partitionKey,
  onClose,
  onWaived,
}: {
  assetKey: string;
  check: AssetCheckStatus;
  /** The failing partition the Waive button was pressed for (null for an unpartitioned check). */
  partitionKey: string | null;
  onClose: () => void;
  onWaived: () => void;
}) {
  const partition = partitionKey;
  const [scope, setScope] = useState<'partition' | 'all'>(partition ? 'partition' : 'all');
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (reason.trim().length < 3) {
      setError('Say why this failure may be waived (at least 3 characters).');
      return;
    }
    setBusy(true);
    setError(null);
    const result = await api.call('assetsWaive', {
      body: {
        assetKey,
        checkName: check.name,
        ...(scope === 'partition' && partition ? { partitionKey: partition } : {}),
        reason: reason.trim(),
      },
    });
    setBusy(false);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    onWaived();
    onClose();
  };

  return (
    <Dialog title={`Waive ${check.name}`} onClose={onClose} testId="waive-dialog">
      <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="waive-form">
        <p className="muted small">
          Downstream assets of <span className="mono">{assetKey}</span> may be materialised again although this check failed. The
          waiver and its reason are recorded in the audit log; a new passing result makes it moot.
        </p>
        {partition && (
          <fieldset className="radio-row" aria-label="Scope">
            <label>
              <input type="radio" name="waive-scope" checked={scope === 'partition'} onChange={() => setScope('partition')} />
              Partition <span className="mono">{partition}</span>
            </label>
            <label>
              <input
                type="radio"
                name="waive-scope"
                checked={scope === 'all'}
                onChange={() => setScope('all')}
                data-testid="waive-all"
              />
              Every partition
            </label>
          </fieldset>
        )}
        <label className="field">
          <span className="field-label">
            Reason <span className="required">*</span>
          </span>
          <textarea rows={3} value={reason} onChange={(e) => setReason(e.target.value)} data-testid="waive-reason" />
        </label>
        {error && <Notice testId="waive-error">{error}</Notice>}
        <DialogActions
          label="Waive"
          busyLabel="Waiving…"
          busy={busy}
          testId="waive-submit"
          onClose={onClose}
          closeLabel="Close"
          danger
        />
      </form>
    </Dialog>
  );
}
