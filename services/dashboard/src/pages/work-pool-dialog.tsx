import {
  DEFAULT_BASE_JOB_TEMPLATE,
  DEFAULT_DISCONNECTED_TOLERANCE_SECONDS,
  type WorkerSilencePolicy,
  type WorkPool,
  type WorkPoolType,
} from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { api } from '../api/instance.js';
import { FormDialog } from '../components/form-dialog.js';
import { CheckField, describedBy, type FieldErrorMap, FieldErrors, TextField } from '../components/form-field.js';
import { useFieldSubmit } from '../hooks/use-submit.js';
import { parseLimit } from '../lib/field-errors.js';

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
  const [silence, setSilence] = useState<WorkerSilencePolicy>(pool?.onWorkerSilence ?? 'retry');
  const [tolerance, setTolerance] = useState(() => {
    const current = pool ? pool.disconnectedToleranceSeconds : DEFAULT_DISCONNECTED_TOLERANCE_SECONDS;
    return current === null ? '' : String(current ?? DEFAULT_DISCONNECTED_TOLERANCE_SECONDS);
  });
  const [template, setTemplate] = useState(() => {
    const current = pool ? pool.baseJobTemplate : DEFAULT_BASE_JOB_TEMPLATE;
    return current ? JSON.stringify(current, null, 2) : '';
  });
  const { errors, failure, busy, check, send } = useFieldSubmit();
  const kubernetes = type === 'kubernetes';

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const local: FieldErrorMap = {};
    if (!pool && name.trim() === '') local.name = ['Give the pool a name.'];
    const concurrencyLimit = parseLimit(limit);
    if (concurrencyLimit === undefined) local.concurrencyLimit = ['A limit is a whole number, or blank for none.'];
    const disconnectedToleranceSeconds = parseLimit(tolerance);
    if (disconnectedToleranceSeconds === undefined)
      local.disconnectedToleranceSeconds = ['The tolerance is a whole number of seconds, or blank for no limit.'];
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
    if (!check(local) || concurrencyLimit === undefined || disconnectedToleranceSeconds === undefined) return;
    await send(
      () =>
        pool
          ? api.call('poolsUpdate', {
              params: { pool: pool.name },
              body: {
                concurrencyLimit,
                description: description.trim(),
                paused,
                onWorkerSilence: silence,
                disconnectedToleranceSeconds,
                ...(kubernetes ? { baseJobTemplate } : {}),
              },
            })
          : api.call('poolsCreate', {
              body: {
                name: name.trim(),
                type,
                ...(concurrencyLimit === null ? {} : { concurrencyLimit }),
                ...(description.trim() ? { description: description.trim() } : {}),
                ...(kubernetes && baseJobTemplate ? { baseJobTemplate } : {}),
                onWorkerSilence: silence,
                disconnectedToleranceSeconds,
              },
            }),
      (saved) => {
        onSaved(saved);
        onClose();
      },
    );
  };

  return (
    <FormDialog
      title={pool ? `Edit pool ${pool.name}` : 'New work pool'}
      testId="pool"
      wide={kubernetes}
      label={pool ? 'Save' : 'Create pool'}
      busy={busy}
      failure={failure}
      onSubmit={onSubmit}
      onClose={onClose}
    >
      {!pool && (
        <>
          <NameField what="pool" value={name} onChange={setName} errors={errors.name} />
          <label className="field">
            <span className="field-label">Type</span>
            <select value={type} onChange={(e) => setType(e.target.value as WorkPoolType)} data-testid="pool-type">
              <option value="process">Process: a local process per run</option>
              <option value="kubernetes">Kubernetes: a Job per run</option>
            </select>
          </label>
        </>
      )}
      <LimitField
        what="pool"
        value={limit}
        onChange={setLimit}
        help="Most runs of this pool held at once; blank for no limit."
        errors={errors.concurrencyLimit}
      />
      <label className="field">
        <span className="field-label">Description</span>
        <textarea
          rows={2}
          value={description}
          onChange={(e) => setDescription(e.target.value)}
          data-testid="pool-description"
          {...describedBy(errors.description, 'pool-description-error')}
        />
        <FieldErrors id="pool-description-error" messages={errors.description} />
      </label>
      <label className="field">
        <span className="field-label">When a worker falls silent</span>
        <select value={silence} onChange={(e) => setSilence(e.target.value as WorkerSilencePolicy)} data-testid="pool-silence">
          <option value="retry">Retry its runs after the lease and its grace</option>
          <option value="wait">Wait out the disconnected tolerance first: never two copies at once</option>
        </select>
      </label>
      <TextField
        label="Disconnected tolerance (seconds)"
        numeric
        value={tolerance}
        onChange={setTolerance}
        placeholder="No limit"
        help="How long a worker that cannot reach Outpost keeps running its runs; blank for no limit."
        testId="pool-tolerance"
        errors={errors.disconnectedToleranceSeconds}
      />
      {pool && <PausedField what="pool" paused={paused} onChange={setPaused} />}
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
            {...describedBy(errors.baseJobTemplate, 'pool-template-errors')}
          />
          <span className="field-help">
            The batch/v1 Job, as JSON, that each run&apos;s Job starts from; blank uses the default.
          </span>
          <FieldErrors id="pool-template-errors" messages={errors.baseJobTemplate} testId="pool-template-errors" />
        </label>
      )}
    </FormDialog>
  );
}

/** The name of a new pool or queue (`${what}-name` for tests); an existing one keeps its name. */
export function NameField({
  what,
  value,
  onChange,
  errors,
}: {
  what: 'pool' | 'queue';
  value: string;
  onChange: (value: string) => void;
  errors: string[] | undefined;
}) {
  return (
    <TextField
      label="Name"
      required
      value={value}
      onChange={onChange}
      autoComplete="off"
      testId={`${what}-name`}
      errors={errors}
    />
  );
}

/** A pool's or a queue's concurrency limit, blank for none (`${what}-limit` for tests). */
export function LimitField({
  what,
  value,
  onChange,
  help,
  errors,
}: {
  what: 'pool' | 'queue';
  value: string;
  onChange: (value: string) => void;
  help?: string;
  errors: string[] | undefined;
}) {
  return (
    <TextField
      label="Concurrency limit"
      numeric
      value={value}
      onChange={onChange}
      placeholder="No limit"
      help={help}
      testId={`${what}-limit`}
      errors={errors}
    />
  );
}

/** A pool's or a queue's pause, offered when it is edited: `${what}-paused` for tests. */
export function PausedField({
  what,
  paused,
  onChange,
}: {
  what: 'pool' | 'queue';
  paused: boolean;
  onChange: (paused: boolean) => void;
}) {
  return (
    <CheckField inline checked={paused} onChange={onChange} testId={`${what}-paused`}>
      Paused: workers claim nothing from this {what}
    </CheckField>
  );
}
