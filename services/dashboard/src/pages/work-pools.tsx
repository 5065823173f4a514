import type { Worker, WorkPool, WorkQueue } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime, formatRelative } from '../lib/format.js';

const REFRESH_MS = 10_000;

export function WorkPoolsPage() {
  const pools = useResource((signal) => api.call('poolsList', { signal }), [], { pollMs: REFRESH_MS });
  return (
    <div className="page">
      <div className="page-header">
        <h1>Work pools</h1>
      </div>
      {pools.error && <Notice>{pools.error}</Notice>}
      {pools.data && pools.data.items.length === 0 && (
        <Empty>No work pools yet. Start a worker with `outpost worker start --pool &lt;name&gt;` after creating one.</Empty>
      )}
      {pools.data?.items.map((pool) => (
        <PoolCard key={pool.id} pool={pool} onChanged={pools.reload} />
      ))}
    </div>
  );
}

function PoolCard({ pool, onChanged }: { pool: WorkPool; onChanged: () => Promise<void> }) {
  const queues = useResource((signal) => api.call('queuesList', { params: { pool: pool.name }, signal }), [pool.name], {
    pollMs: REFRESH_MS,
  });
  const workers = useResource((signal) => api.call('workersList', { params: { pool: pool.name }, signal }), [pool.name], {
    pollMs: REFRESH_MS,
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const now = useNow(5000);

  const togglePause = async () => {
    setBusy(true);
    const result = await api.call('poolsUpdate', { params: { pool: pool.name }, body: { paused: !pool.paused } });
    setBusy(false);
    setError(result.ok ? null : describeFailure(result));
    await onChanged();
  };

  const online = workers.data?.items.filter((w) => w.status === 'ONLINE').length ?? 0;
  return (
    <section className="panel pool" data-testid="pool-card" data-pool={pool.name}>
      <div className="panel-header">
        <div className="title-block">
          <h2>{pool.name}</h2>
          {pool.paused ? (
            <span className="pill pill-paused" data-testid="pool-status">
              Paused
            </span>
          ) : (
            <span className="pill pill-active" data-testid="pool-status">
              Active
            </span>
          )}
          <span className="muted small">
            {pool.type === 'kubernetes' ? 'Kubernetes · ' : ''}
            {online} of {workers.data?.items.length ?? 0} workers online · limit {pool.concurrencyLimit ?? 'none'}
          </span>
        </div>
        <button
          type="button"
          className="button"
          disabled={busy}
          onClick={() => void togglePause()}
          data-testid="pool-toggle-pause"
        >
          {pool.paused ? 'Resume' : 'Pause'}
        </button>
      </div>
      {pool.description && <p className="muted">{pool.description}</p>}
      {error && <Notice>{error}</Notice>}
      <div className="two-columns">
        <div>
          <h3>Queues</h3>
          <QueueTable queues={queues.data?.items ?? []} />
        </div>
        <div>
          <h3>Workers</h3>
          <WorkerTable workers={workers.data?.items ?? []} now={now} />
        </div>
      </div>
    </section>
  );
}

function QueueTable({ queues }: { queues: WorkQueue[] }) {
  if (queues.length === 0) return <Empty>No queues.</Empty>;
  return (
    <table className="grid-table compact" data-testid="queue-table">
      <thead>
        <tr>
          <th>Queue</th>
          <th className="num">Priority</th>
          <th className="num">Limit</th>
          <th>Status</th>
        </tr>
      </thead>
      <tbody>
        {[...queues]
          .sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name))
          .map((q) => (
            <tr key={q.id} data-testid="queue-row">
              <td>{q.name}</td>
              <td className="num">{q.priority}</td>
              <td className="num">{q.concurrencyLimit ?? '—'}</td>
              <td>
                {q.paused ? <span className="pill pill-paused">Paused</span> : <span className="pill pill-active">Active</span>}
              </td>
            </tr>
          ))}
      </tbody>
    </table>
  );
}

function WorkerTable({ workers, now }: { workers: Worker[]; now: number }) {
  if (workers.length === 0) return <Empty>No workers have connected.</Empty>;
  return (
    <table className="grid-table compact" data-testid="worker-table">
      <thead>
        <tr>
          <th>Worker</th>
          <th>Status</th>
          <th className="num">Capacity</th>
          <th>Last heartbeat</th>
        </tr>
      </thead>
      <tbody>
        {workers.map((w) => (
          <tr key={w.id} data-testid="worker-row">
            <td>
              <div className="cell-main">
                <span>{w.name}</span>
                {Object.keys(w.labels).length > 0 && (
                  <span className="muted small mono">
                    {Object.entries(w.labels)
                      .map(([k, v]) => `${k}=${v}`)
                      .join(' ')}
                  </span>
                )}
              </div>
            </td>
            <td>
              <span className={`pill ${w.status === 'ONLINE' ? 'pill-online' : 'pill-offline'}`} data-testid="worker-status">
                {w.status === 'ONLINE' ? 'Online' : 'Offline'}
              </span>
            </td>
            <td className="num">{w.capacity}</td>
            <td title={formatDateTime(w.lastHeartbeatAt)}>{formatRelative(w.lastHeartbeatAt, now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
