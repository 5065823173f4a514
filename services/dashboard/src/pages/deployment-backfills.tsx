import type { Backfill, Deployment, Schedule } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { FormDialog } from '../components/form-dialog.js';
import { MaxConcurrentField, parseMaxConcurrent } from '../components/max-concurrent-field.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { formatDateTime } from '../lib/format.js';

const FINISHED = new Set<Backfill['status']>(['COMPLETED', 'FAILED', 'CANCELLED']);

/** Finished partitions over all of them, the part the progress bar fills. */
function progress(b: Backfill): { done: number; total: number } {
  const p = b.partitions;
  return { done: p.COMPLETED + p.FAILED + p.CANCELLED + p.BLOCKED, total: p.total };
}

/** The deployment's backfills with their progress; people who may deploy create, pause, resume and cancel them. */
export function DeploymentBackfills({
  deployment,
  schedules,
  backfills,
  canEdit,
  onChanged,
}: {
  deployment: Deployment;
  schedules: Schedule[];
  backfills: Backfill[];
  canEdit: boolean;
  onChanged: (b: Backfill) => void;
}) {
  const [creating, setCreating] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const act = async (b: Backfill, action: 'backfillsPause' | 'backfillsResume' | 'backfillsCancel') => {
    setBusy(b.id);
    setFailure(null);
    const result = await api.call(action, { params: { id: b.id } });
    setBusy(null);
    if (result.ok) onChanged(result.data);
    else setFailure(describeFailure(result));
  };

  return (
    <section className="panel deployment-section" aria-labelledby="backfills-heading" data-testid="deployment-backfills">
      <div className="section-header">
        <h2 id="backfills-heading">Backfills</h2>
        {canEdit && schedules.length > 0 && (
          <button type="button" className="button" onClick={() => setCreating(true)} data-testid="backfill-new">
            New backfill
          </button>
        )}
      </div>
      {failure && <Notice>{failure}</Notice>}
      {backfills.length === 0 ? (
        <Empty>
          {schedules.length === 0 ? 'A backfill runs over a schedule’s times; this deployment has none.' : 'No backfills yet.'}
        </Empty>
      ) : (
        <table className="grid-table" data-testid="backfills-table">
          <TableHead columns={['Covers', 'Status', 'Progress', { label: 'At once', className: 'num' }, { hidden: 'Actions' }]} />
          <tbody>
            {backfills.map((b) => {
              const { done, total } = progress(b);
              return (
                <tr key={b.id} data-testid="backfill-row" data-backfill-id={b.id} data-status={b.status}>
                  <td>
                    <div className="cell-main">
                      <span>{b.start && b.end ? `${formatDateTime(b.start)} → ${formatDateTime(b.end)}` : 'Partitions'}</span>
                      <span className="muted small">
                        {b.scheduleSlug ? `schedule ${b.scheduleSlug} · ` : ''}created {formatDateTime(b.createdAt)}
                      </span>
                    </div>
                  </td>
                  <td>
                    <span className={`pill backfill-status backfill-${b.status.toLowerCase()}`} data-testid="backfill-status">
                      {b.status.charAt(0) + b.status.slice(1).toLowerCase()}
                    </span>
                    {b.message && <div className="muted small">{b.message}</div>}
                  </td>
                  <td>
                    <div className="backfill-progress">
                      <progress max={Math.max(1, total)} value={done} aria-label={`${done} of ${total} finished`} />
                      <span className="small" data-testid="backfill-progress">
                        {done} / {total} · {b.partitions.COMPLETED} completed
                        {b.partitions.FAILED > 0 ? ` · ${b.partitions.FAILED} failed` : ''}
                        {b.partitions.RUNNING + b.partitions.PENDING > 0
                          ? ` · ${b.partitions.RUNNING + b.partitions.PENDING} in flight`
                          : ''}
                      </span>
                    </div>
                  </td>
                  <td className="num">{b.maxConcurrent}</td>
                  <td className="num backfill-actions">
                    {canEdit && !FINISHED.has(b.status) && (
                      <>
                        <button
                          type="button"
                          className="button"
                          disabled={busy === b.id}
                          onClick={() => void act(b, b.status === 'PAUSED' ? 'backfillsResume' : 'backfillsPause')}
                          data-testid="backfill-toggle"
                        >
                          {b.status === 'PAUSED' ? 'Resume' : 'Pause'}
                        </button>
                        <button
                          type="button"
                          className="button button-danger"
                          disabled={busy === b.id}
                          onClick={() => void act(b, 'backfillsCancel')}
                          data-testid="backfill-cancel"
                        >
                          Cancel
                        </button>
                      </>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {creating && (
        <BackfillDialog
          deployment={deployment}
          schedules={schedules}
          onClose={() => setCreating(false)}
          onCreated={(b) => {
            setCreating(false);
            onChanged(b);
          }}
        />
      )}
    </section>
  );
}

/** `2026-11-01T06:00` typed in the browser's zone → ISO instant; null when blank or unreadable. */
function localInputToIso(value: string): string | null {
  if (!value) return null;
  const t = new Date(value).getTime();
  return Number.isNaN(t) ? null : new Date(t).toISOString();
}

function BackfillDialog({
  deployment,
  schedules,
  onClose,
  onCreated,
}: {
  deployment: Deployment;
  schedules: Schedule[];
  onClose: () => void;
  onCreated: (b: Backfill) => void;
}) {
  const [schedule, setSchedule] = useState(schedules[0]?.slug ?? '');
  const [start, setStart] = useState('');
  const [end, setEnd] = useState('');
  const [maxConcurrent, setMaxConcurrent] = useState('1');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const found: Record<string, string> = {};
    const startIso = localInputToIso(start);
    const endIso = localInputToIso(end);
    const concurrent = parseMaxConcurrent(maxConcurrent);
    if (!startIso) found.start = 'required';
    if (!endIso) found.end = 'required';
    if (startIso && endIso && startIso >= endIso) found.end = 'must be after the start';
    if (concurrent === null) found.maxConcurrent = 'a whole number from 1 to 1000';
    setErrors(found);
    if (Object.keys(found).length > 0 || !startIso || !endIso || concurrent === null) return;
    setBusy(true);
    setFailure(null);
    const result = await api.call('backfillsCreate', {
      params: { id: deployment.id },
      body: { schedule, start: startIso, end: endIso, maxConcurrent: concurrent },
    });
    setBusy(false);
    if (result.ok) {
      onCreated(result.data);
      return;
    }
    const byField: Record<string, string> = {};
    for (const fe of result.kind === 'http_error' ? (result.problem?.errors ?? []) : []) {
      byField[fe.path.replace(/^\/?body[./]?/, '').split(/[./]/)[0] || 'form'] = fe.message;
    }
    setErrors(byField);
    setFailure(describeFailure(result));
  };

  return (
    <FormDialog
      title={`Backfill ${deployment.flowName}/${deployment.name}`}
      testId="backfill"
      errorTestId="backfill-error"
      label="Create backfill"
      busyLabel="Creating…"
      busy={busy}
      failure={failure}
      onSubmit={onSubmit}
      onClose={onClose}
    >
      <label className="field">
        <span className="field-label">Schedule whose times to run</span>
        <select value={schedule} onChange={(e) => setSchedule(e.target.value)} data-testid="backfill-schedule">
          {schedules.map((s) => (
            <option key={s.slug} value={s.slug}>
              {s.slug}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span className="field-label">From (included, your local time)</span>
        <input type="datetime-local" value={start} onChange={(e) => setStart(e.target.value)} data-testid="backfill-start" />
        {errors.start && <span className="field-error">{errors.start}</span>}
      </label>
      <label className="field">
        <span className="field-label">Until (excluded)</span>
        <input type="datetime-local" value={end} onChange={(e) => setEnd(e.target.value)} data-testid="backfill-end" />
        {errors.end && <span className="field-error">{errors.end}</span>}
      </label>
      <MaxConcurrentField
        label="Runs in flight at once"
        value={maxConcurrent}
        onChange={setMaxConcurrent}
        testId="backfill-max-concurrent"
      >
        {errors.maxConcurrent && <span className="field-error">{errors.maxConcurrent}</span>}
      </MaxConcurrentField>
    </FormDialog>
  );
}
