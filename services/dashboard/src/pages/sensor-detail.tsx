import type { Role, Sensor, SensorTick } from '@outpost/sdk/contracts';
import { missingOn404 } from '../api/client.js';
import { api } from '../api/instance.js';
import { Breadcrumbs } from '../components/breadcrumbs.js';
import { Fact } from '../components/fact.js';
import { Empty, Notice } from '../components/notice.js';
import { PageLoading, PageNotFound } from '../components/page-placeholder.js';
import { PausedPill } from '../components/status-pill.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime, formatDuration } from '../lib/format.js';
import { href } from '../router.js';
import { SensorActions, TickBadge } from './sensors.js';

const POLL_MS = 5000;
const TICKS_SHOWN = 50;

/** One sensor: its interval, cursor and next tick, its controls, and its latest ticks with what each did. */
export function SensorDetailPage({ id, role }: { id: string; role: Role | null }) {
  // A 404 is an answer here (no such sensor, or a redeploy removed it), not a failure to show.
  const sensor = useResource<Sensor | 'missing'>(
    async (signal) => missingOn404(await api.call('sensorsGet', { params: { id }, signal })),
    [id],
    { pollMs: POLL_MS },
  );
  const ticks = useResource(
    (signal) => api.call('sensorsTicks', { params: { id }, query: { limit: TICKS_SHOWN }, signal }),
    [id],
    { pollMs: POLL_MS },
  );

  const s = sensor.data;
  if (s === 'missing') {
    return (
      <PageNotFound title="Sensor not found" to="/sensors" backLabel="Back to sensors">
        No such sensor in this workspace.
      </PageNotFound>
    );
  }
  if (!s) {
    return <PageLoading error={sensor.error}>Loading sensor…</PageLoading>;
  }
  const reload = async () => {
    await Promise.all([sensor.reload(), ticks.reload()]);
  };
  return (
    <div className="page" data-testid="sensor-detail" data-sensor={s.name}>
      <Breadcrumbs to="/sensors" label="Sensors">
        {s.name}
      </Breadcrumbs>
      <div className="page-header">
        <div className="title-block">
          <h1 data-testid="sensor-name">{s.name}</h1>
          <PausedPill paused={s.paused} testId="sensor-status" />
        </div>
        <SensorActions sensor={s} role={role} onChanged={reload} />
      </div>
      {s.description && <p>{s.description}</p>}
      {sensor.error && <Notice>{sensor.error}</Notice>}
      <dl className="facts">
        <Fact label="Deployment">
          <a href={href('/runs', { deployment: s.deploymentId })}>
            {s.flowName}/{s.deploymentName}
          </a>
        </Fact>
        <Fact label="Work pool">{s.workPool}</Fact>
        <Fact label="Interval">{formatDuration(s.intervalSeconds * 1000)}</Fact>
        <Fact label="Next tick" testId="sensor-next-tick">
          {s.paused ? 'paused' : formatDateTime(s.nextTickAt)}
        </Fact>
        <Fact label="Evaluating until">{s.leaseExpiresAt ? formatDateTime(s.leaseExpiresAt) : '—'}</Fact>
        <Fact label="Cursor" testId="sensor-cursor" wide>
          {s.cursor === null ? <span className="muted">none</span> : <span className="mono">{s.cursor}</span>}
        </Fact>
      </dl>
      <section className="panel" aria-label="Ticks">
        <div className="panel-header">
          <h2>Ticks</h2>
          <span className="muted small">{ticks.data ? `latest ${ticks.data.items.length}` : ''}</span>
        </div>
        {ticks.error && <Notice>{ticks.error}</Notice>}
        {ticks.data && ticks.data.items.length === 0 ? (
          <Empty>No ticks yet: a worker of pool {s.workPool} evaluates the sensor when it is due.</Empty>
        ) : (
          <table className="grid-table compact" data-testid="sensor-ticks">
            <TableHead columns={['Time', 'Status', 'Runs requested', 'Skip reason / error', 'Cursor']} />
            <tbody>
              {ticks.data?.items.map((t) => (
                <TickRow key={t.id} tick={t} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function TickRow({ tick }: { tick: SensorTick }) {
  return (
    <tr data-testid="sensor-tick" data-status={tick.status}>
      <td>{formatDateTime(tick.startedAt)}</td>
      <td>
        <TickBadge status={tick.status} />
      </td>
      <td data-testid="sensor-tick-runs">
        {tick.runs.length === 0 ? (
          <span className="muted">—</span>
        ) : (
          <ul className="link-list">
            {tick.runs.map((r) => (
              <li key={r.runKey}>
                <span className="mono">{r.runKey}</span>{' '}
                {r.flowRunId ? (
                  <a href={href(`/runs/${r.flowRunId}`)} data-testid="sensor-tick-run-link">
                    {r.created ? 'run' : 'run (requested before)'}
                  </a>
                ) : null}
                {r.error && <span className="field-error"> {r.error}</span>}
              </li>
            ))}
          </ul>
        )}
      </td>
      <td data-testid="sensor-tick-reason">
        {tick.error ? <span className="field-error">{tick.error}</span> : (tick.skipReason ?? <span className="muted">—</span>)}
      </td>
      <td className="mono" data-testid="sensor-tick-cursor">
        {tick.cursorBefore ?? '∅'} → {tick.cursorAfter ?? '∅'}
      </td>
    </tr>
  );
}
