import type { WorkQueue } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';
import { Notice } from '../components/notice.js';
import { fieldErrorsByField, parseLimit } from '../lib/field-errors.js';

/** Create a queue in a pool, or edit one's priority, concurrency limit and pause. */
export function WorkQueueDialog({
  poolName,
  queue,
  onClose,
  onSaved,
}: {
  poolName: string;
  /** The queue to edit; null creates one. */
  queue: WorkQueue | null;
  onClose: () => void;
  onSaved: () => void;
}) {
  const [name, setName] = useState('');
  const [priority, setPriority] = useState(String(queue?.priority ?? 1));
  const [limit, setLimit] = useState(queue?.concurrencyLimit == null ? '' : String(queue.concurrencyLimit));
  const [paused, setPaused] = useState(queue?.paused ?? false);
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const local: Record<string, string[]> = {};
    if (!queue && name.trim() === '') local.name = ['Give the queue a name.'];
    const rank = /^\d+$/.test(priority.trim()) ? Number(priority.trim()) : Number.NaN;
    if (!(rank >= 1 && rank <= 1000)) local.priority = ['Priority is a whole number from 1 (first) to 1000.'];
    const concurrencyLimit = parseLimit(limit);
    if (concurrencyLimit === undefined) local.concurrencyLimit = ['A limit is a whole number, or blank for none.'];
    setErrors(local);
    setFailure(null);
    if (Object.keys(local).length > 0 || concurrencyLimit === undefined) return;
    setBusy(true);
    const result = queue
      ? await api.call('queuesUpdate', {
          params: { pool: poolName, queue: queue.name },
          body: { priority: rank, concurrencyLimit, paused },
        })
      : await api.call('queuesCreate', {
          params: { pool: poolName },
          body: { name: name.trim(), priority: rank, ...(concurrencyLimit === null ? {} : { concurrencyLimit }) },
        });
    setBusy(false);
    if (!result.ok) {
      setErrors(fieldErrorsByField(result));
      setFailure(describeFailure(result));
      return;
    }
    onSaved();
    onClose();
  };

  const invalid = (field: string) =>
    errors[field]?.length ? { 'aria-invalid': true as const, 'aria-describedby': `queue-${field}-error` } : {};
  const errorOf = (field: string) =>
    errors[field]?.length ? (
      <span className="field-error" id={`queue-${field}-error`}>
        {errors[field]?.join(' ')}
      </span>
    ) : null;

  return (
    <Dialog title={queue ? `Edit queue ${queue.name}` : `New queue in ${poolName}`} onClose={onClose} testId="queue-dialog">
      <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="queue-form">
        {!queue && (
          <label className="field">
            <span className="field-label">
              Name <span className="required">*</span>
            </span>
            <input
              type="text"
              value={name}
              onChange={(e) => setName(e.target.value)}
              autoComplete="off"
              data-testid="queue-name"
              {...invalid('name')}
            />
            {errorOf('name')}
          </label>
        )}
        <label className="field">
          <span className="field-label">Priority</span>
          <input
            type="text"
            inputMode="numeric"
            value={priority}
            onChange={(e) => setPriority(e.target.value)}
            data-testid="queue-priority"
            {...invalid('priority')}
          />
          <span className="field-help">1 is claimed first.</span>
          {errorOf('priority')}
        </label>
        <label className="field">
          <span className="field-label">Concurrency limit</span>
          <input
            type="text"
            inputMode="numeric"
            value={limit}
            onChange={(e) => setLimit(e.target.value)}
            placeholder="No limit"
            data-testid="queue-limit"
            {...invalid('concurrencyLimit')}
          />
          {errorOf('concurrencyLimit')}
        </label>
        {queue && (
          <label className="field field-inline">
            <input type="checkbox" checked={paused} onChange={(e) => setPaused(e.target.checked)} data-testid="queue-paused" />
            Paused: workers claim nothing from this queue
          </label>
        )}
        {failure && <Notice testId="queue-dialog-error">{failure}</Notice>}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy} data-testid="queue-submit">
            {busy ? 'Saving…' : queue ? 'Save' : 'Create queue'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
