import { DomainError } from '../domain-error.js';
import { batchItemError } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import { apiKeyId, poolScope } from '../http/scope.js';
import { batchKey, insertRunLogs, poolRunHolders } from './db/logs.js';
import { notHeld, proposeStates, sum } from './db/propose-state.js';
import { toLogRows } from './log-handlers.js';

/**
 * Batch calls of a worker key for the runs its workers hold in one pool: many state proposals, or
 * many runs' log batches, in one request each. A worker that finishes runs in bursts pays one round
 * trip and a fixed number of statements per burst instead of one of each per run (test/bench/lifecycle.ts).
 * Each item is checked as its single-run route checks it — held by this key, fenced by the attempt —
 * and fails on its own.
 */
export const poolRunHandlers = {
  poolRunsSetStates: async ({ params, body, principal, deps }) => {
    const items = await proposeStates(deps.sql, deps.metrics, {
      ...(await poolScope(deps.sql, principal, params.pool)),
      apiKeyId: apiKeyId(principal),
      items: body.items,
    });
    return { items: items.map((item) => ({ ...item, error: item.error && batchItemError(item.error) })) };
  },

  poolRunsLogsWrite: async ({ params, body, principal, deps }) => {
    const scope = await poolScope(deps.sql, principal, params.pool);
    const keyId = apiKeyId(principal);
    const holders = await poolRunHolders(deps.sql, {
      ...scope,
      runIds: [...new Set(body.items.map((item) => item.flowRunId))],
      apiKeyId: keyId,
    });
    const refusal = (flowRunId: string, attempt: number): DomainError | null => {
      const holder = holders.get(flowRunId);
      // Held now, or run before by a worker of this key: late lines of an ended attempt are history.
      if (!holder || keyId === null || (holder.holderKeyId !== keyId && !holder.ranByKey)) return notHeld();
      // Lines of earlier attempts may arrive late (spooled while the API was unreachable); later ones cannot exist yet.
      if (attempt > holder.attempt) {
        return new DomainError('stale_attempt', `the flow run is at attempt ${holder.attempt}`);
      }
      return null;
    };
    const checked = body.items.map((item) => ({
      item,
      error: refusal(item.flowRunId, item.attempt),
      lines: toLogRows(item.logs),
    }));
    const accepted = await insertRunLogs(
      deps.sql,
      principal.workspaceId,
      checked.filter((c) => c.error === null).map((c) => ({ runId: c.item.flowRunId, attempt: c.item.attempt, lines: c.lines })),
    );
    deps.metrics.logLinesIngested(sum(accepted));
    return {
      items: checked.map(({ item, error, lines }) => {
        const stored = error ? 0 : (accepted.get(batchKey(item.flowRunId, item.attempt)) ?? 0);
        return {
          flowRunId: item.flowRunId,
          attempt: item.attempt,
          accepted: stored,
          duplicates: error ? 0 : lines.length - stored,
          error: error && batchItemError(error),
        };
      }),
    };
  },
} satisfies Pick<Handlers, 'poolRunsSetStates' | 'poolRunsLogsWrite'>;
