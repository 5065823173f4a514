import type { CollisionStrategy, Deployment, FlowRun, Role } from '@outpost/sdk/contracts';
import { type FormEvent, useEffect, useMemo, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { subscribeRunEvents } from '../api/run-events.js';
import { Breadcrumbs } from '../components/breadcrumbs.js';
import { Dialog } from '../components/dialog.js';
import { DialogActions } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { PageLoading } from '../components/page-placeholder.js';
import { SourceText } from '../components/source-text.js';
import { PausedPill } from '../components/status-pill.js';
import { TagList } from '../components/tag-list.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { deploymentLabel } from '../lib/format.js';
import { mergeRuns } from '../lib/run-order.js';
import { href } from '../router.js';
import { DeploymentBackfills } from './deployment-backfills.js';
import { DeploymentRuns } from './deployment-runs.js';
import { DeploymentSchedules } from './deployment-schedules.js';
import { RunForm } from './run-dialog.js';

const RECENT_RUNS = 50;
/**
 * Upcoming runs are read on their own, soonest first: a schedule creates its runs in batches, so
 * the soonest may be older than the 50 newest and missing from them.
 */
const UPCOMING_RUNS = 10;
const DEPLOYERS: readonly Role[] = ['owner', 'admin', 'developer'];
const RUNNERS: readonly Role[] = [...DEPLOYERS, 'runner'];

/** One deployment: what it runs and where, its schedules, a form to start a run, its runs and its backfills. */
export function DeploymentPage({ id, role }: { id: string; role: Role | null }) {
  const now = useNow(1000);
  const canEdit = role !== null && DEPLOYERS.includes(role);
  const canRun = role !== null && RUNNERS.includes(role);
  const deployment = useResource((signal) => api.call('deploymentsGet', { params: { id }, signal }), [id]);
  const schedules = useResource((signal) => api.call('schedulesList', { params: { id }, signal }), [id]);
  const backfills = useResource((signal) => api.call('backfillsList', { params: { id }, query: { limit: 20 }, signal }), [id], {
    pollMs: 3000,
  });
  const runs = useResource(
    (signal) => api.call('flowRunsList', { query: { deploymentId: id, limit: RECENT_RUNS }, signal }),
    [id],
  );
  const upcoming = useResource(
    (signal) =>
      api.call('flowRunsList', {
        query: { deploymentId: id, state: 'SCHEDULED', sort: 'EXPECTED_START_TIME_ASC', limit: UPCOMING_RUNS },
        signal,
      }),
    [id],
  );
  const [liveRuns, setLiveRuns] = useState<FlowRun[]>([]);
  const [started, setStarted] = useState<FlowRun | null>(null);

  useEffect(() => {
    if (runs.data) setLiveRuns(runs.data.items);
  }, [runs.data]);

  const reloadRuns = runs.reload;
  const reloadUpcoming = upcoming.reload;
  useEffect(
    () =>
      subscribeRunEvents({
        url: api.url('flowRunsEvents', {}),
        onRun: (run) => {
          if (run.deploymentId !== id) return;
          setLiveRuns((current) => upsertRun(current, run));
        },
        poll: async () => {
          await Promise.all([reloadRuns(), reloadUpcoming()]);
        },
      }),
    [id, reloadRuns, reloadUpcoming],
  );
  const shownRuns = useMemo(() => mergeRuns(liveRuns, upcoming.data?.items ?? []), [liveRuns, upcoming.data]);

  const d = deployment.data;
  if (!d) {
    return <PageLoading error={deployment.error}>Loading…</PageLoading>;
  }

  return (
    <div className="page deployment-page" data-testid="deployment-page">
      <Breadcrumbs to="/deployments" label="Deployments" testId="breadcrumbs">
        {deploymentLabel(d.flowName, d.name)}
      </Breadcrumbs>
      <DeploymentHeader
        deployment={d}
        canEdit={canEdit}
        onChanged={() => {
          void deployment.reload();
          void schedules.reload();
          // pausing deletes the runs its schedules made that nobody claimed: the lists are read again
          void runs.reload();
          void upcoming.reload();
        }}
      />
      <div className="deployment-grid">
        <section className="panel deployment-section" aria-labelledby="run-heading" data-testid="deployment-run">
          <h2 id="run-heading">Start a run</h2>
          {canRun ? (
            <RunForm
              deployment={d}
              onStarted={(run) => {
                setStarted(run);
                setLiveRuns((current) => upsertRun(current, run));
              }}
            />
          ) : (
            <p className="muted">Your role may look at this deployment but not start its runs.</p>
          )}
          {started && (
            <Notice kind="success" testId="run-started">
              Started <a href={href(`/runs/${started.id}`)}>{started.name}</a>.
            </Notice>
          )}
        </section>
        <DeploymentSchedules
          deployment={d}
          schedules={schedules.data?.items ?? []}
          canEdit={canEdit}
          now={now}
          onChanged={() => {
            void schedules.reload();
            // a pause or a new definition deletes the schedule's unclaimed runs, which no event announces
            void runs.reload();
            void upcoming.reload();
          }}
        />
      </div>
      {schedules.error && <Notice>{schedules.error}</Notice>}
      {runs.error && <Notice>{runs.error}</Notice>}
      {upcoming.error && <Notice>{upcoming.error}</Notice>}
      <DeploymentRuns deploymentId={d.id} runs={shownRuns} now={now} />
      {backfills.error && <Notice>{backfills.error}</Notice>}
      <DeploymentBackfills
        deployment={d}
        schedules={schedules.data?.items ?? []}
        backfills={backfills.data?.items ?? []}
        canEdit={canEdit}
        onChanged={() => void backfills.reload()}
      />
    </div>
  );
}

/** Newest first, at most RECENT_RUNS; an older copy of a run never replaces a newer one. */
function upsertRun(runs: FlowRun[], run: FlowRun): FlowRun[] {
  const at = runs.findIndex((r) => r.id === run.id);
  if (at >= 0) {
    const current = runs[at];
    if (current && Date.parse(current.updatedAt) > Date.parse(run.updatedAt)) return runs;
    const next = runs.slice();
    next[at] = run;
    return next;
  }
  return [run, ...runs].slice(0, RECENT_RUNS);
}

function DeploymentHeader({
  deployment: d,
  canEdit,
  onChanged,
}: {
  deployment: Deployment;
  canEdit: boolean;
  onChanged: () => void;
}) {
  const [busy, setBusy] = useState(false);
  const [failure, setFailure] = useState<string | null>(null);
  const [editingLimit, setEditingLimit] = useState(false);

  const togglePaused = async () => {
    setBusy(true);
    setFailure(null);
    const result = await api.call(d.paused ? 'deploymentsResume' : 'deploymentsPause', { params: { id: d.id } });
    setBusy(false);
    if (result.ok) onChanged();
    else setFailure(describeFailure(result));
  };

  return (
    <header className="deployment-header">
      <div className="page-header">
        <div>
          <h1 data-testid="deployment-name">
            {d.flowName}/{d.name}
          </h1>
          {d.description && <p className="muted">{d.description}</p>}
        </div>
        <div className="deployment-header-actions">
          <PausedPill paused={d.paused} testId="deployment-status" />
          {canEdit && (
            <button
              type="button"
              className="button"
              disabled={busy}
              onClick={() => void togglePaused()}
              data-testid="deployment-toggle"
            >
              {d.paused ? 'Resume deployment' : 'Pause deployment'}
            </button>
          )}
        </div>
      </div>
      {failure && <Notice>{failure}</Notice>}
      <dl className="deployment-facts">
        <div>
          <dt>Flow</dt>
          <dd>{d.flowName}</dd>
        </div>
        <div>
          <dt>Pool / queue</dt>
          <dd>
            {d.workPool} / {d.workQueue}
          </dd>
        </div>
        <div>
          <dt>Code</dt>
          <dd>
            <SourceText source={d.source} testId="deployment-source" />
            <div className="muted small mono">{d.entrypoint}</div>
          </dd>
        </div>
        <div>
          <dt>Signature</dt>
          <dd data-testid="deployment-signature">
            {d.signature ? (
              <span title={`signed with deploy key ${signatureKeyId(d.signature) ?? 'unknown'}`}>
                signed · key <span className="mono small">{(signatureKeyId(d.signature) ?? '?').slice(0, 12)}</span>
              </span>
            ) : (
              <span className="muted" title="Workers started with --trust-key refuse its runs (outpost deploy --sign-key)">
                unsigned
              </span>
            )}
          </dd>
        </div>
        {d.versionId && (
          <div>
            <dt>Version</dt>
            <dd className="mono small" title={d.versionId}>
              {d.versionId.slice(0, 8)}
            </dd>
          </div>
        )}
        <div>
          <dt>Concurrency</dt>
          <dd data-testid="deployment-concurrency">
            {describeLimit(d)}
            {canEdit && (
              <button
                type="button"
                className="button button-quiet"
                onClick={() => setEditingLimit(true)}
                data-testid="concurrency-edit"
              >
                Edit
              </button>
            )}
          </dd>
        </div>
        <div>
          <dt>Tags</dt>
          <dd>{d.tags.length > 0 ? <TagList tags={d.tags} /> : <span className="muted">none</span>}</dd>
        </div>
      </dl>
      {editingLimit && (
        <ConcurrencyDialog
          deployment={d}
          onClose={() => setEditingLimit(false)}
          onSaved={() => {
            setEditingLimit(false);
            onChanged();
          }}
        />
      )}
    </header>
  );
}

function describeLimit(d: Deployment): string {
  if (d.concurrencyLimit === null || d.concurrencyLimit === undefined) return 'No limit';
  const strategy = d.collisionStrategy === 'CANCEL_NEW' ? 'more are cancelled' : 'more wait';
  return `At most ${d.concurrencyLimit} at once; ${strategy}`;
}

function ConcurrencyDialog({
  deployment,
  onClose,
  onSaved,
}: {
  deployment: Deployment;
  onClose: () => void;
  onSaved: () => void;
}) {
  const [limit, setLimit] = useState(deployment.concurrencyLimit == null ? '' : String(deployment.concurrencyLimit));
  const [strategy, setStrategy] = useState<CollisionStrategy>(deployment.collisionStrategy ?? 'ENQUEUE');
  const [error, setError] = useState<string | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const n = limit.trim() === '' ? null : Number(limit);
    if (n !== null && !(Number.isInteger(n) && n >= 0 && n <= 100_000)) {
      setError('a whole number from 0 to 100000, or empty for no limit');
      return;
    }
    setError(null);
    setBusy(true);
    const result = await api.call('deploymentsUpdate', {
      params: { id: deployment.id },
      body: { concurrencyLimit: n, collisionStrategy: strategy },
    });
    setBusy(false);
    if (result.ok) onSaved();
    else setFailure(describeFailure(result));
  };

  return (
    <Dialog title="Concurrency" onClose={onClose} testId="concurrency-dialog">
      <form className="form" onSubmit={(e) => void onSubmit(e)} noValidate>
        <label className="field">
          <span className="field-label">Runs of this deployment in flight at once (empty: no limit)</span>
          <input type="number" min={0} value={limit} onChange={(e) => setLimit(e.target.value)} data-testid="concurrency-limit" />
          {error && <span className="field-error">{error}</span>}
        </label>
        <label className="field">
          <span className="field-label">A run due at the limit</span>
          <select
            value={strategy}
            onChange={(e) => setStrategy(e.target.value as CollisionStrategy)}
            data-testid="concurrency-strategy"
          >
            <option value="ENQUEUE">waits for a slot</option>
            <option value="CANCEL_NEW">is cancelled</option>
          </select>
        </label>
        <p className="muted small">The next deploy sets this back to what outpost.config.ts declares.</p>
        {failure && <Notice>{failure}</Notice>}
        <DialogActions label="Save" busyLabel="Saving…" busy={busy} testId="concurrency-save" onClose={onClose} />
      </form>
    </Dialog>
  );
}

/**
 * The deploy key that made a deployment signature: the `kid` of its JWS header (the key's RFC 7638
 * thumbprint, as `outpost deploy-keys create` prints it). Decoded with `atob`, since this runs in
 * the browser; null when the header cannot be read. Shown only: the worker is what verifies.
 */
function signatureKeyId(jws: string): string | null {
  try {
    const header = jws.split('.')[0] ?? '';
    const json = atob(
      header
        .replace(/-/g, '+')
        .replace(/_/g, '/')
        .padEnd(Math.ceil(header.length / 4) * 4, '='),
    );
    const kid = (JSON.parse(json) as { kid?: unknown }).kid;
    return typeof kid === 'string' ? kid : null;
  } catch {
    return null;
  }
}
