import { DEFAULT_BASE_JOB_TEMPLATE, type WorkPool, type WorkPoolType } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Dialog } from '../components/dialog.js';
import { Notice } from '../components/notice.js';
import { fieldErrorsByField, parseLimit } from '../lib/field-errors.js';

type Errors = Record<string, string[]>;

function FieldErrors({ id, messages, testId }: { id: string; messages: string[] | undefined; testId?: string }) {
  if (!messages || messages.length === 0) return null;
  return (
    <ul className="field-error field-error-list" id={id} data-testid={testId}>
      {messages.map((m) => (
        <li key={m}>{m}</li>
      ))}
    </ul>
  );
}

/** Props that tie an input to its error list, so a screen reader reads the error with the field. */
function describedBy(errors: Errors, field: string, id: string) {
  return errors[field]?.length ? { 'aria-invalid': true as const, 'aria-describedby': id } : {};
}

/**
 * Create a work pool, or edit one (limit, description, paused, and a Kubernetes pool's base job
 * template). The template is JSON; the API checks it against the Kubernetes schemas and each
 * problem it names is listed under the field with its path inside the template.
 */
export function WorkPoolDialog({
  pool,
  onClose,
  onSaved,
}: {
  /** The pool to edit; null creates one. */
  pool: WorkPool | null;
  onClose: () => void;
  onSaved: (pool: WorkPool) => void;
}) {
  const [name, setName] = useState('');
  const [type, setType] = useState<WorkPoolType>(pool?.type ?? 'process');
  const [limit, setLimit] = useState(pool?.concurrencyLimit == null ? '' : String(pool.concurrencyLimit));
  const [description, setDescription] = useState(pool?.description ?? '');
  const [paused, setPaused] = useState(pool?.paused ?? false);
  const [template, setTemplate] = useState(() => {
    const current = pool ? pool.baseJobTemplate : DEFAULT_BASE_JOB_TEMPLATE;
    return current ? JSON.stringify(current, null, 2) : '';
  });
  const [errors, setErrors] = useState<Errors>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const kubernetes = type === 'kubernetes';

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const local: Errors = {};
    if (!pool && name.trim() === '') local.name = ['Give the pool a name.'];
    const concurrencyLimit = parseLimit(limit);
    if (concurrencyLimit === undefined) local.concurrencyLimit = ['A limit is a whole number, or blank for none.'];
    let baseJobTemplate: Record<string, unknown> | null = null;
    if (kubernetes && template.trim() !== '') {
      try {
        const parsed: unknown = JSON.parse(template);
        if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
        baseJobTemplate = parsed as Record<string, unknown>;
      } catch (error) {
        local.baseJobTemplate = [`The template is not a JSON object (${(error as Error).message}).`];
      }
    }
    setErrors(local);
    setFailure(null);
    if (Object.keys(local).length > 0 || concurrencyLimit === undefined) return;
    setBusy(true);
    const result = pool
      ? await api.call('poolsUpdate', {
          params: { pool: pool.name },
          body: {
            concurrencyLimit,
            description: description.trim(),
            paused,
            ...(kubernetes ? { baseJobTemplate } : {}),
          },
        })
      : await api.call('poolsCreate', {
          body: {
            name: name.trim(),
            type,
            ...(concurrencyLimit === null ? {} : { concurrencyLimit }),
            ...(description.trim() ? { description: description.trim() } : {}),
            ...(kubernetes && baseJobTemplate ? { baseJobTemplate } : {}),
          },
        });
    setBusy(false);
    if (!result.ok) {
      setErrors(fieldErrorsByField(result));
      setFailure(describeFailure(result));
      return;
    }
    onSaved(result.data);
    onClose();
  };

  return (
    <Dialog title={pool ? `Edit pool ${pool.name}` : 'New work pool'} onClose={onClose} testId="pool-dialog" wide={kubernetes}>
      <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate data-testid="pool-form">
        {!pool && (
          <>
            <label className="field">
              <span className="field-label">
                Name <span className="required">*</span>
              </span>
              <input
                type="text"
                value={name}
                onChange={(e) => setName(e.target.value)}
                autoComplete="off"
                data-testid="pool-name"
                {...describedBy(errors, 'name', 'pool-name-error')}
              />
              <FieldErrors id="pool-name-error" messages={errors.name} />
            </label>
            <label className="field">
              <span className="field-label">Type</span>
              <select value={type} onChange={(e) => setType(e.target.value as WorkPoolType)} data-testid="pool-type">
                <option value="process">Process: a local process per run</option>
                <option value="kubernetes">Kubernetes: a Job per run</option>
              </select>
            </label>
          </>
        )}
        <label className="field">
          <span className="field-label">Concurrency limit</span>
          <input
            type="text"
            inputMode="numeric"
            value={limit}
            onChange={(e) => setLimit(e.target.value)}
            placeholder="No limit"
            data-testid="pool-limit"
            {...describedBy(errors, 'concurrencyLimit', 'pool-limit-error')}
          />
          <span className="field-help">Most runs of this pool held at once; blank for no limit.</span>
          <FieldErrors id="pool-limit-error" messages={errors.concurrencyLimit} />
        </label>
        <label className="field">
          <span className="field-label">Description</span>
          <textarea
            rows={2}
            value={description}
            onChange={(e) => setDescription(e.target.value)}
            data-testid="pool-description"
            {...describedBy(errors, 'description', 'pool-description-error')}
          />
          <FieldErrors id="pool-description-error" messages={errors.description} />
        </label>
        {pool && (
          <label className="field field-inline">
            <input type="checkbox" checked={paused} onChange={(e) => setPaused(e.target.checked)} data-testid="pool-paused" />
            Paused: workers claim nothing from this pool
          </label>
        )}
        {kubernetes && (
          <label className="field">
            <span className="field-label">Base job template</span>
            <textarea
              className="mono"
              rows={14}
              spellCheck={false}
              value={template}
              onChange={(e) => setTemplate(e.target.value)}
              data-testid="pool-template"
              {...describedBy(errors, 'baseJobTemplate', 'pool-template-errors')}
            />
            <span className="field-help">
              The batch/v1 Job, as JSON, that each run&apos;s Job starts from; blank uses the default.
            </span>
            <FieldErrors id="pool-template-errors" messages={errors.baseJobTemplate} testId="pool-template-errors" />
          </label>
        )}
        {failure && <Notice testId="pool-dialog-error">{failure}</Notice>}
        <div className="dialog-actions">
          <button type="button" className="button" onClick={onClose}>
            Cancel
          </button>
          <button type="submit" className="button button-primary" disabled={busy} data-testid="pool-submit">
            {busy ? 'Saving…' : pool ? 'Save' : 'Create pool'}
          </button>
        </div>
      </form>
    </Dialog>
  );
}
