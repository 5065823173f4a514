import {
  DEFAULT_DISCONNECTED_TOLERANCE_SECONDS,
  type HeldRun,
  type WorkerHeartbeatRequest,
  type WorkerHeartbeatResponse,
  type WorkPool,
} from '@outpost/sdk/contracts';
import type { AppDeps } from '../context.js';
import { iso } from '../db/values.js';
import { endedAttempts, renewLeases } from './db/leases.js';
import { dropEarlierWorkersOfName } from './db/workers.js';

/**
 * One call per interval: refresh the worker, renew every lease it still holds, hand out fresh run
 * tokens, and tell it which runs to cancel (CANCELLING) and which it has lost.
 */
export async function heartbeat(
  deps: AppDeps,
  input: { workspaceId: string; pool: WorkPool; apiKeyId: string | null; request: WorkerHeartbeatRequest },
): Promise<WorkerHeartbeatResponse> {
  const { request } = input;
  const { inserted } = await deps.workerRows.upsert(deps.sql, {
    workspaceId: input.workspaceId,
    workerId: request.workerId,
    poolId: input.pool.id,
    name: request.name,
    labels: request.labels ?? {},
    capacity: request.capacity,
    resources: request.resources ?? null,
    version: request.version ?? null,
    apiKeyId: input.apiKeyId,
    stopping: request.stopping === true,
  });
  // A new process: rows an earlier process of the same name left behind go (one row per name).
  if (inserted)
    await dropEarlierWorkersOfName(deps.sql, {
      workspaceId: input.workspaceId,
      poolId: input.pool.id,
      workerId: request.workerId,
      name: request.name,
    });
  const { renewed, serverTime } = await renewLeases(deps.sql, {
    workspaceId: input.workspaceId,
    workerId: request.workerId,
    runs: request.runs,
    leaseSeconds: deps.leaseSeconds,
  });
  const kept = new Set(renewed.map((r) => `${r.id}/${r.attempt}`));
  const lost: HeldRun[] = request.runs.filter((r) => !kept.has(`${r.id.toLowerCase()}/${r.attempt}`));
  // Rare (a run ended, or moved to another worker): only then a second look, for the runs that ended.
  const ended = lost.length > 0 ? await endedAttempts(deps.sql, { workspaceId: input.workspaceId, runs: lost }) : [];
  const cancel: HeldRun[] = renewed.filter((r) => r.stateType === 'CANCELLING').map((r) => ({ id: r.id, attempt: r.attempt }));
  return {
    renewed: await Promise.all(
      renewed.map(async (r) => ({
        id: r.id,
        attempt: r.attempt,
        leaseExpiresAt: iso(r.leaseExpiresAt),
        token: await deps.tokens.sign({
          runId: r.id,
          attempt: r.attempt,
          workspaceId: input.workspaceId,
          workerId: request.workerId.toLowerCase(),
        }),
      })),
    ),
    cancel,
    lost,
    ended,
    leaseSeconds: deps.leaseSeconds,
    leaseGraceSeconds: deps.leaseGraceSeconds,
    onWorkerSilence: input.pool.onWorkerSilence ?? 'retry',
    disconnectedToleranceSeconds:
      input.pool.disconnectedToleranceSeconds === undefined
        ? DEFAULT_DISCONNECTED_TOLERANCE_SECONDS
        : input.pool.disconnectedToleranceSeconds,
    serverTime: iso(serverTime),
  };
}
