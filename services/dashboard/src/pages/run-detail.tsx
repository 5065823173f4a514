import {
  type Artifact,
  ASSET_FLOW_NAME,
  type FlowRun,
  isTerminal,
  type Role,
  resultRefOf,
  type StateHistoryResponse,
} from '@outpost/sdk/contracts';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { subscribeRunEvents } from '../api/run-events.js';
import { Breadcrumbs } from '../components/breadcrumbs.js';
import { Fact } from '../components/fact.js';
import { JsonView } from '../components/json-view.js';
import { Notice } from '../components/notice.js';
import { PageLoading, PageNotFound } from '../components/page-placeholder.js';
import { PoolWaitingBanner } from '../components/pool-waiting-banner.js';
import { StateBadge } from '../components/state-badge.js';
import { TagList } from '../components/tag-list.js';
import { useNow } from '../hooks/use-now.js';
import { useRunAttempts } from '../hooks/use-run-attempts.js';
import { useTaskRuns } from '../hooks/use-task-runs.js';
import { mayCall } from '../lib/asset-metadata.js';
import { attemptCauses, describeRunAttempt } from '../lib/attempt-causes.js';
import { deploymentLabel, formatDateTime, formatRelative } from '../lib/format.js';
import { requestedAssets, runAssets } from '../lib/run-assets.js';
import { runDuration } from '../lib/run-duration.js';
import { href } from '../router.js';
import { RunActions } from './run-actions.js';
import { RunArtifacts } from './run-artifacts.js';
import { RunAssets } from './run-assets.js';
import { RunAttempts } from './run-attempts.js';
import { RunChildren } from './run-children.js';
import { RunLogs } from './run-logs.js';
import { ReproduceButton, ReproducedFrom, RunManifest, useRunManifest } from './run-manifest.js';
import { RunSections } from './run-sections.js';
import { RunTaskRuns } from './run-task-runs.js';
import { RunTimeline } from './run-timeline.js';
import { RunWaits } from './run-waits.js';

const DETAIL_POLL_MS = 3000;

export function RunDetailPage({ id, role }: { id: string; role: Role | null }) {
  const [run, setRun] = useState<FlowRun | null>(null);
  const [states, setStates] = useState<StateHistoryResponse['items']>([]);
  const [artifacts, setArtifacts] = useState<Artifact[]>([]);
  const [children, setChildren] = useState<FlowRun[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [missing, setMissing] = useState(false);
  const live = run ? !isTerminal(run.state.type) : true;
  const now = useNow(1000, live);
  const liveRef = useRef(live);
  liveRef.current = live;
  const taskRuns = useTaskRuns(id, run ? live : null, run?.updatedAt ?? null);
  const manifest = useRunManifest(run);
  const attempts = useRunAttempts(run);
  const causes = useMemo(() => attemptCauses(states), [states]);
  // The assets of a run of the `assets` flow, folded from its task runs once per summary (not per clock tick).
  const flowName = run?.flowName;
  const parameters = run?.parameters;
  const assets = useMemo(
    () => (flowName === ASSET_FLOW_NAME && parameters ? runAssets(taskRuns.summary, requestedAssets(parameters)) : []),
    [flowName, parameters, taskRuns.summary],
  );
  const [waitCount, setWaitCount] = useState(0);

  const acceptRun = useCallback((next: FlowRun) => {
    setRun((current) => (current && Date.parse(current.updatedAt) > Date.parse(next.updatedAt) ? current : next));
  }, []);

  // The four reads start together; the run is shown as soon as it arrives, not when the slowest of
  // the other three (a long state history, many artifacts) does.
  const refresh = useCallback(async () => {
    const rest = Promise.all([
      api.call('flowRunsStates', { params: { id } }),
      api.call('artifactsList', { params: { id } }),
      api.call('flowRunsChildren', { params: { id } }),
    ]);
    const r = await api.call('flowRunsGet', { params: { id } });
    if (!r.ok) {
      if (r.kind === 'http_error' && r.status === 404) setMissing(true);
      else setError(describeFailure(r));
      return;
    }
    acceptRun(r.data);
    const [s, a, c] = await rest;
    if (s.ok) setStates(s.data.items);
    if (a.ok) setArtifacts(a.data.items);
    if (c.ok) setChildren(c.data.items);
    const failed = [s, a, c].find((x) => !x.ok);
    setError(failed && !failed.ok ? describeFailure(failed) : null);
  }, [id, acceptRun]);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  // States change without a flow-run event, so a live run is also re-read on a short interval (task runs poll on their own).
  useEffect(() => {
    if (!live) return;
    let timer: ReturnType<typeof setTimeout>;
    let active = true;
    const tick = async () => {
      await refresh();
      if (active && liveRef.current) timer = setTimeout(tick, DETAIL_POLL_MS);
    };
    timer = setTimeout(tick, DETAIL_POLL_MS);
    return () => {
      active = false;
      clearTimeout(timer);
    };
  }, [live, refresh]);

  useEffect(
    () =>
      subscribeRunEvents({
        url: api.url('flowRunsEvents', {}),
        onRun: (changed) => {
          // A child's change re-reads the page too, so its badge in the child-run list follows it.
          if (changed.id !== id && changed.parentFlowRunId !== id) return;
          if (changed.id === id) acceptRun(changed);
          void refresh();
        },
        poll: refresh,
      }),
    [id, acceptRun, refresh],
  );

  if (missing) {
    return (
      <PageNotFound title="Run not found" to="/runs" backLabel="Back to runs">
        This run does not exist or belongs to another workspace.
      </PageNotFound>
    );
  }
  if (!run) {
    return <PageLoading error={error}>Loading run…</PageLoading>;
  }

  const duration = runDuration(run, attempts.attempts, now);
  return (
    <div className="page run-detail" data-testid="run-detail">
      <Breadcrumbs to="/runs" label="Runs">
        {run.flowName}
      </Breadcrumbs>
      <div className="page-header">
        <div className="title-block">
          <h1 data-testid="run-name">{run.name}</h1>
          <StateBadge state={run.state} testId="run-state" />
          {run.state.message && (
            <span className="muted state-message" data-testid="run-state-message">
              {run.state.message}
            </span>
          )}
        </div>
        <div className="actions">
          {mayCall(role, 'flowRunsSetState') && <RunActions run={run} onChanged={refresh} />}
          <ReproduceButton manifest={manifest.manifest} role={role} />
        </div>
      </div>
      <ReproducedFrom run={run} view={manifest} />
      {error && <Notice>{error}</Notice>}
      {run.waitingFor && run.workPool && <PoolWaitingBanner pool={run.workPool} reason={run.waitingFor} />}
      <RunSections
        sections={[
          { id: 'run-logs', label: 'Logs', present: true },
          { id: 'run-assets', label: 'Assets', present: assets.length > 0 },
          { id: 'run-task-runs', label: 'Task runs', present: (taskRuns.summary?.total ?? 0) > 0 },
          { id: 'run-artifacts', label: 'Artifacts', present: artifacts.length > 0 },
          { id: 'run-waits', label: 'Waits', present: waitCount > 0 },
          { id: 'run-manifest', label: 'Manifest', present: manifest.manifest !== null },
        ]}
      />
      <RunWaits run={run} role={role} onCount={setWaitCount} />
      <dl className="facts">
        <Fact label="Flow">{run.flowName}</Fact>
        {run.parentFlowRunId && (
          <Fact label="Parent run">
            <a href={href(`/runs/${run.parentFlowRunId}`)} data-testid="run-parent">
              {run.parentFlowRunId.slice(0, 8)}
            </a>
          </Fact>
        )}
        <Fact label="Deployment">
          {run.deploymentId ? (
            <a href={href('/runs', { deployment: run.deploymentId })} data-testid="run-deployment">
              {deploymentLabel(run.flowName, run.deploymentName ?? '')}
            </a>
          ) : (
            <span className="muted">ad hoc</span>
          )}
        </Fact>
        <Fact label="Attempt" testId="run-attempt">
          {describeRunAttempt(run, causes)}
        </Fact>
        <Fact label="Scheduled">{formatDateTime(run.scheduledTime ?? run.expectedStartTime)}</Fact>
        <Fact label="Started">{run.startTime ? formatDateTime(run.startTime) : formatRelative(run.expectedStartTime, now)}</Fact>
        <Fact label="Ended">{formatDateTime(run.endTime)}</Fact>
        <Fact label="Duration" testId="run-duration">
          <span title="Wall-clock time, from the run's first start to its end (to now while it runs), waits between attempts included.">
            {duration.text}
          </span>
          {duration.working && (
            <span
              className="muted small"
              data-testid="run-working-time"
              title="The attempts' running time added up; the waits between attempts are not counted."
            >
              {' '}
              ({duration.working})
            </span>
          )}
        </Fact>
        {run.state.type === 'COMPLETED' && (
          <Fact label="Return value" testId="run-result">
            <RunResult data={run.state.data} />
          </Fact>
        )}
        <Fact label="Pool / queue">{run.workPool ? `${run.workPool} / ${run.workQueue ?? 'default'}` : '—'}</Fact>
        <Fact label="Tags">
          <TagList tags={run.tags} />
        </Fact>
      </dl>
      <RunAttempts run={run} now={now} attempts={attempts.attempts} error={attempts.error} causes={causes} />
      <RunManifest view={manifest} />
      <div className="two-columns">
        <section className="panel" aria-label="Parameters">
          <div className="panel-header">
            <h2>Parameters</h2>
          </div>
          <JsonView value={run.parameters} testId="run-parameters" />
        </section>
        <section className="panel" aria-label="State timeline">
          <div className="panel-header">
            <h2>States</h2>
          </div>
          <RunTimeline entries={states} now={now} live={live} />
        </section>
      </div>
      {assets.length > 0 && <RunAssets run={run} assets={assets} />}
      <RunTaskRuns view={taskRuns} now={now} flowStart={run.startTime} />
      <RunChildren runs={children} />
      <section className="panel" aria-label="Artifacts" id="run-artifacts" tabIndex={-1}>
        <div className="panel-header">
          <h2>Artifacts</h2>
          <span className="muted small">{artifacts.length}</span>
        </div>
        <RunArtifacts artifacts={artifacts} />
      </section>
      <RunLogs runId={run.id} live={live} />
    </div>
  );
}

/**
 * Where the flow's return value is: it stays in the customer's result storage, and the control plane
 * holds only its reference, so that is what the page can show.
 */
function RunResult({ data }: { data: unknown }) {
  const ref = resultRefOf(data);
  if (!ref) return <span className="muted">none stored</span>;
  return (
    <span title="The value stays in your result storage; the control plane keeps only where it is. A flow that starts this run with runDeployment reads it.">
      in your storage at <code className="result-ref">{ref}</code>
    </span>
  );
}
