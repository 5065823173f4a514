import type { WorkQueue } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { api } from '../api/instance.js';
import { FormDialog } from '../components/form-dialog.js';
import { type FieldErrorMap, TextField } from '../components/form-field.js';
import { useFieldSubmit } from '../hooks/use-submit.js';
import { parseLimit } from '../lib/field-errors.js';
import { LimitField, NameField, PausedField } from './work-pool-dialog.js';

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
    <FormDialog
      title={queue ? `Edit queue ${queue.name}` : `New queue in ${poolName}`}
      testId="queue"
      label={queue ? 'Save' : 'Create queue'}
      busy={busy}
      failure={failure}
      onSubmit={onSubmit}
      onClose={onClose}
    >
      {!queue && <NameField what="queue" value={name} onChange={setName} errors={errors.name} />}
      <TextField
        label="Priority"
        numeric
        value={priority}
        onChange={setPriority}
        help="1 is claimed first."
        testId="queue-priority"
        errors={errors.priority}
      />
      <LimitField what="queue" value={limit} onChange={setLimit} errors={errors.concurrencyLimit} />
      {queue && <PausedField what="queue" paused={paused} onChange={setPaused} />}
    </FormDialog>
  );
}
