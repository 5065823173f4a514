import type { Role, WorkPool, WorkQueue } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { PausedPill } from '../components/status-pill.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { mayCall } from '../lib/asset-metadata.js';
import { pluralise } from '../lib/format.js';
import { WorkPoolDialog } from './work-pool-dialog.js';
import { PoolGpuSummary } from './work-pool-gpus.js';
import { EditAndPauseButtons, QueueTable, WorkerTable } from './work-pool-tables.js';
import { WorkQueueDialog } from './work-queue-dialog.js';

const REFRESH_MS = 5_000;

/**
 * How long a cut-off worker's runs go on, and whether the API retries them meanwhile:
 * "offline up to 10 min, retried meanwhile" (retry) or "offline without limit, never retried meanwhile" (wait).
 */
function silenceSummary(pool: WorkPool): string {
  const seconds = pool.disconnectedToleranceSeconds;
  const tolerance = seconds === null ? 'without limit' : `up to ${Math.round((seconds ?? 600) / 60)} min`;
  return `offline ${tolerance}, ${pool.onWorkerSilence === 'wait' ? 'never retried meanwhile' : 'retried meanwhile'}`;
}

export function WorkPoolsPage({ role }: { role: Role | null }) {
  const pools = useResource((signal) => api.call('poolsList', { signal }), [], { pollMs: REFRESH_MS });
  const [creating, setCreating] = useState(false);
  const canCreate = mayCall(role, 'poolsCreate');
  return (
    <div className="page">
      <div className="page-header">
        <h1>Work pools</h1>
        {canCreate && (
          <button type="button" className="button button-primary" onClick={() => setCreating(true)} data-testid="pools-new">
            New pool
          </button>
        )}
      </div>
      {pools.error && <Notice>{pools.error}</Notice>}
      {pools.data && pools.data.items.length === 0 && (
        <Empty>
          No work pools yet. Create one, then start a worker with <code>outpost worker start --pool &lt;name&gt;</code>.
        </Empty>
      )}
      {pools.data?.items.map((pool) => (
        <PoolCard key={pool.id} pool={pool} role={role} onChanged={pools.reload} />
      ))}
      {creating && <WorkPoolDialog pool={null} onClose={() => setCreating(false)} onSaved={() => void pools.reload()} />}
    </div>
  );
}

function PoolCard({ pool, role, onChanged }: { pool: WorkPool; role: Role | null; onChanged: () => Promise<void> }) {
  const queues = useResource((signal) => api.call('queuesList', { params: { pool: pool.name }, signal }), [pool.name], {
    pollMs: REFRESH_MS,
  });
  const workers = useResource((signal) => api.call('workersList', { params: { pool: pool.name }, signal }), [pool.name], {
    pollMs: REFRESH_MS,
  });
  const metrics = useResource((signal) => api.call('poolsMetrics', { params: { pool: pool.name }, signal }), [pool.name], {
    pollMs: REFRESH_MS,
  });
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [queueDialog, setQueueDialog] = useState<{ queue: WorkQueue | null } | null>(null);
  const now = useNow(5000);
  const canEditPool = mayCall(role, 'poolsUpdate');
  const canEditQueues = mayCall(role, 'queuesUpdate');

  const togglePause = async () => {
    setBusy(true);
    const result = await api.call('poolsUpdate', { params: { pool: pool.name }, body: { paused: !pool.paused } });
    setBusy(false);
    setError(result.ok ? null : describeFailure(result));
    await onChanged();
  };

  const toggleQueue = async (queue: WorkQueue) => {
    setBusy(true);
    const result = await api.call('queuesUpdate', {
      params: { pool: pool.name, queue: queue.name },
      body: { paused: !queue.paused },
    });
    setBusy(false);
    setError(result.ok ? null : describeFailure(result));
    await queues.reload();
  };

  const online = workers.data?.items.filter((w) => w.status === 'ONLINE').length ?? 0;
  const headingId = `pool-${pool.id}-heading`;
  return (
    <section className="panel pool" data-testid="pool-card" data-pool={pool.name} aria-labelledby={headingId}>
      <div className="panel-header">
        <div className="title-block">
          <h2 id={headingId}>{pool.name}</h2>
          <PausedPill paused={pool.paused} testId="pool-status" />
          <span className="muted small" data-testid="pool-summary">
            {pool.type === 'kubernetes' ? 'Kubernetes · ' : ''}
            {online} of {pluralise(workers.data?.items.length ?? 0, 'worker')} online · limit{' '}
            <span data-testid="pool-limit-value">{pool.concurrencyLimit ?? 'none'}</span> ·{' '}
            <span data-testid="pool-silence-value" title="What happens to the runs of a worker that stops reaching Outpost">
              {silenceSummary(pool)}
            </span>
          </span>
        </div>
        {canEditPool && (
          <div className="actions">
            <EditAndPauseButtons
              what="pool"
              name={pool.name}
              paused={pool.paused}
              busy={busy}
              onEdit={() => setEditing(true)}
              onTogglePause={() => void togglePause()}
            />
          </div>
        )}
      </div>
      {pool.description && (
        <p className="muted" data-testid="pool-description-text">
          {pool.description}
        </p>
      )}
      {metrics.data && <PoolGpuSummary pool={pool} metrics={metrics.data} />}
      {error && <Notice>{error}</Notice>}
      <div className="pool-sections">
        <div>
          <div className="subsection-header">
            <h3>Queues</h3>
            {mayCall(role, 'queuesCreate') && (
              <button
                type="button"
                className="button button-small"
                onClick={() => setQueueDialog({ queue: null })}
                aria-label={`New queue in ${pool.name}`}
                data-testid="queue-new"
              >
                New queue
              </button>
            )}
          </div>
          <QueueTable
            queues={queues.data?.items ?? []}
            canEdit={canEditQueues}
            busy={busy}
            onEdit={(queue) => setQueueDialog({ queue })}
            onTogglePause={(queue) => void toggleQueue(queue)}
          />
        </div>
        <div>
          <h3>Workers</h3>
          <WorkerTable workers={workers.data?.items ?? []} now={now} />
        </div>
      </div>
      {editing && <WorkPoolDialog pool={pool} onClose={() => setEditing(false)} onSaved={() => void onChanged()} />}
      {queueDialog && (
        <WorkQueueDialog
          poolName={pool.name}
          queue={queueDialog.queue}
          onClose={() => setQueueDialog(null)}
          onSaved={() => void queues.reload()}
        />
      )}
    </section>
  );
}
