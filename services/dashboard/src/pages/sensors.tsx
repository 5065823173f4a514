import type { Role, Sensor, SensorTickStatus } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { PausedPill } from '../components/status-pill.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { mayCall } from '../lib/asset-metadata.js';
import { formatDateTime, formatDuration, pluralise } from '../lib/format.js';
import { href } from '../router.js';

const POLL_MS = 5000;

const TICK_CLASS: Record<SensorTickStatus, string> = {
  RUNNING: 'state-running',
  REQUESTED: 'state-completed',
  SKIPPED: 'state-cancelled',
  FAILED: 'state-failed',
};

/** A tick's status as a badge, coloured like the run states it resembles. */
export function TickBadge({ status, testId }: { status: SensorTickStatus; testId?: string }) {
  return (
    <span className={`badge ${TICK_CLASS[status]}`} data-testid={testId} data-status={status}>
      {status.charAt(0) + status.slice(1).toLowerCase()}
    </span>
  );
}

/** Pause or resume a sensor, and make its next tick due now; each action re-reads the sensor after. */
export function SensorActions({
  sensor,
  role,
  onChanged,
}: {
  sensor: Sensor;
  role: Role | null;
  onChanged: () => Promise<void>;
}) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const act = async (route: 'sensorsPause' | 'sensorsResume' | 'sensorsTickNow') => {
    setBusy(true);
    const result = await api.call(route, { params: { id: sensor.id } });
    setBusy(false);
    setError(result.ok ? null : describeFailure(result));
    await onChanged();
  };
  const toggle = sensor.paused ? 'sensorsResume' : 'sensorsPause';
  return (
    <span className="actions">
      {mayCall(role, toggle) && (
        <button
          type="button"
          className="button"
          disabled={busy}
          onClick={() => void act(toggle)}
          data-testid="sensor-toggle-pause"
        >
          {sensor.paused ? 'Resume' : 'Pause'}
        </button>
      )}
      {mayCall(role, 'sensorsTickNow') && (
        <button
          type="button"
          className="button"
          disabled={busy || sensor.paused}
          title={sensor.paused ? 'Resume the sensor first' : undefined}
          onClick={() => void act('sensorsTickNow')}
          data-testid="sensor-tick-now"
        >
          Tick now
        </button>
      )}
      {error && (
        <span className="field-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}

/** The workspace's sensors: each with its deployment, interval, last tick and next tick, and its controls. */
export function SensorsPage({ role }: { role: Role | null }) {
  const sensors = useResource((signal) => api.call('sensorsList', { query: { limit: 200 }, signal }), [], {
    pollMs: POLL_MS,
  });
  const items = sensors.data?.items ?? [];
  return (
    <div className="page" data-testid="sensors-page">
      <div className="page-header">
        <h1>Sensors</h1>
        <span className="muted" data-testid="sensors-count">
          {sensors.data ? pluralise(items.length, 'sensor') : ''}
        </span>
      </div>
      {sensors.error && <Notice>{sensors.error}</Notice>}
      {sensors.data && items.length === 0 ? (
        <Empty>
          No sensors. A deployment defines its sensors in code; <code>outpost deploy</code> registers them.
        </Empty>
      ) : (
        <section className="panel">
          <table className="grid-table compact">
            <TableHead
              columns={[
                'Sensor',
                'Deployment',
                { label: 'Interval', className: 'num' },
                'Status',
                'Last tick',
                'Next tick',
                { hidden: 'Actions' },
              ]}
            />
            <tbody>
              {items.map((s) => (
                <tr key={s.id} data-testid="sensor-row" data-sensor={s.name}>
                  <td>
                    <a href={href(`/sensors/${s.id}`)} data-testid="sensor-link">
                      {s.name}
                    </a>
                  </td>
                  <td>
                    <a href={href('/runs', { deployment: s.deploymentId })}>
                      {s.flowName}/{s.deploymentName}
                    </a>
                  </td>
                  <td className="num">{formatDuration(s.intervalSeconds * 1000)}</td>
                  <td>
                    <PausedPill paused={s.paused} testId="sensor-status" />
                  </td>
                  <td data-testid="sensor-last-tick">
                    {s.lastTick ? (
                      <>
                        <TickBadge status={s.lastTick.status} /> {formatDateTime(s.lastTick.at)}
                      </>
                    ) : (
                      <span className="muted">never</span>
                    )}
                  </td>
                  <td data-testid="sensor-next-tick">
                    {s.paused ? <span className="muted">paused</span> : formatDateTime(s.nextTickAt)}
                  </td>
                  <td>
                    <SensorActions sensor={s} role={role} onChanged={sensors.reload} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      )}
    </div>
  );
}
