import type { WorkQueue } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';
import { DialogActions, type FieldErrorMap, TextField } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { useFieldSubmit } from '../hooks/use-submit.js';
import { parseLimit } from '../lib/field-errors.js';

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
  const { errors, failure, busy, check, send } = useFieldSubmit();

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const local: FieldErrorMap = {};
    if (!queue && name.trim() === '') local.name = ['Give the queue a name.'];
    const rank = /^\d+$/.test(priority.trim()) ? Number(priority.trim()) : Number.NaN;
    if (!(rank >= 1 && rank <= 1000)) local.priority = ['Priority is a whole number from 1 (first) to 1000.'];
    const concurrencyLimit = parseLimit(limit);
    if (concurrencyLimit === undefined) local.concurrencyLimit = ['A limit is a whole number, or blank for none.'];
    if (!check(local) || concurrencyLimit === undefined) return;
    await send(
      () =>
        queue
          ? api.call('queuesUpdate', {
              params: { pool: poolName, queue: queue.name },
              body: { priority: rank, concurrencyLimit, paused },
            })
          : api.call('queuesCreate', {
              params: { pool: poolName },
              body: { name: name.trim(), priority: rank, ...(concurrencyLimit === null ? {} : { concurrencyLimit }) },
            }),
      () => {
        onSaved();
        onClose();
      },
    );
  };

  return (
    <Dialog title={queue ? `Edit queue ${queue.name}` : `New queue in ${poolName}`} onClose={onClose} testId="queue-dialog">
      <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="queue-form">
        {!queue && (
          <TextField
            label="Name"
            required
            value={name}
            onChange={setName}
            autoComplete="off"
            testId="queue-name"
            errors={errors.name}
          />
        )}
        <TextField
          label="Priority"
          numeric
          value={priority}
          onChange={setPriority}
          help="1 is claimed first."
          testId="queue-priority"
          errors={errors.priority}
        />
        <TextField
          label="Concurrency limit"
          numeric
          value={limit}
          onChange={setLimit}
          placeholder="No limit"
          testId="queue-limit"
          errors={errors.concurrencyLimit}
        />
        {queue && (
          <label className="field field-inline">
            <input type="checkbox" checked={paused} onChange={(e) => setPaused(e.target.checked)} data-testid="queue-paused" />
            Paused: workers claim nothing from this queue
          </label>
        )}
        {failure && <Notice testId="queue-dialog-error">{failure}</Notice>}
        <DialogActions
          label={queue ? 'Save' : 'Create queue'}
          busyLabel="Saving…"
          busy={busy}
          testId="queue-submit"
          onClose={onClose}
        />
      </form>
    </Dialog>
  );
}
