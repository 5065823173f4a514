import type { Worker, WorkPool, WorkPoolMetrics } from '@outpost/sdk/contracts';
import { pluralise } from '../lib/format.js';
import { href } from '../router.js';

/** A pool's GPU use and backlog: GPUs in use of those its online workers have, and its quotas. */
export function PoolGpuSummary({ pool, metrics }: { pool: WorkPool; metrics: WorkPoolMetrics }) {
  const used = metrics.gpusTotal - metrics.gpusFree;
  const tagQuotas = Object.entries(pool.gpuQuotaByTag ?? {});
  return (
    <p className="muted small pool-gpus" data-testid="pool-gpus">
      <span data-testid="pool-gpus-used">
        GPUs {used} / {metrics.gpusTotal} in use
      </span>
      {' · '}
      {metrics.queueDepth} waiting
      {metrics.gpusRequested > 0 && ` (asking ${pluralise(metrics.gpusRequested, 'GPU')})`}
      {metrics.queueDepth > 0 && `, oldest ${Math.round(metrics.oldestWaitingSeconds)} s`}
      {pool.gpuQuota != null && ` · GPU quota ${pool.gpuQuota}`}
      {tagQuotas.length > 0 && ` · per tag ${tagQuotas.map(([tag, n]) => `${tag}=${n}`).join(', ')}`}
    </p>
  );
}

/** Each GPU device of a worker: free, or busy with the run holding it (a link to that run). */
export function GpuDevices({ worker }: { worker: Worker }) {
  const gpus = worker.gpus ?? [];
  if (gpus.length === 0) return <span className="muted">—</span>;
  // Which run holds which devices, in device order: "0,1 calm-otter · 2 brisk-heron".
  const holders = new Map<string, { name: string; ids: string[] }>();
  for (const g of gpus) {
    if (!g.runId) continue;
    const holder = holders.get(g.runId) ?? { name: g.runName ?? g.runId.slice(0, 8), ids: [] };
    holder.ids.push(g.id);
    holders.set(g.runId, holder);
  }
  return (
    <div className="cell-main">
      <span className="gpu-devices" data-testid="gpu-devices">
        {gpus.map((g) => {
          const what = `GPU ${g.id}${g.model ? ` · ${g.model}` : ''}${g.memoryMb ? ` · ${Math.round(g.memoryMb / 1024)} GB` : ''}`;
          return g.runId ? (
            <a
              key={g.id}
              className="gpu-device gpu-busy"
              href={href(`/runs/${g.runId}`)}
              title={`${what} — busy: ${g.runName ?? g.runId}`}
              data-testid="gpu-device"
              data-busy="true"
              data-run={g.runId}
            >
              {g.id}
            </a>
          ) : (
            <span key={g.id} className="gpu-device gpu-free" title={`${what} — free`} data-testid="gpu-device" data-busy="false">
              {g.id}
            </span>
          );
        })}
      </span>
      {holders.size > 0 && (
        <span className="muted small" data-testid="gpu-holders">
          {[...holders.entries()].map(([runId, h], i) => (
            <span key={runId}>
              {i > 0 && ' · '}
              {h.ids.join(',')} <a href={href(`/runs/${runId}`)}>{h.name}</a>
            </span>
          ))}
        </span>
      )}
    </div>
  );
}
