import { z } from 'zod';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { notFound } from '../domain-error.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { poolScope } from '../http/scope.js';
import type { Actor } from '../orchestration/rules.js';
import { createWait } from './create-wait.js';
import { getWait, listRecordedResults, listWaits, toWait, type WaitRow, waitNudgeKey } from './db/waits.js';
import { decideApproval } from './decide.js';
import { claimExternalPolls, completeExternalPoll } from './external-polls.js';
import { suspendRun } from './suspend.js';
import { completeToken } from './tokens.js';

const WaitCursor = z.tuple([z.iso.datetime(), z.uuid()]);

/** The holder of the run: its run token (fenced by the token's attempt) or the worker key holding it. */
function holder(principal: Principal): { attempt: number | null; actor: Actor } {
  return principal.kind === 'run_token' ? { attempt: principal.attempt, actor: 'run' } : { attempt: null, actor: 'worker' };
}

/** A wait the caller may read: a run token reads only its own run's waits (others are 404 like missing ones). */
async function readableWait(deps: AppDeps, principal: Principal, id: string): Promise<WaitRow> {
  const row = await getWait(deps.sql, principal.workspaceId, id);
  if (!row || (principal.kind === 'run_token' && row.flow_run_id !== principal.runId)) throw notFound('wait');
  return row;
}

/**
 * Answers when the wait stops WAITING or `holdSeconds` pass. Woken by the NOTIFY its resolution
 * sends at commit; it looks again at the deadline (and after a reconnect of the listener, which
 * wakes every waiter), so a lost notification costs latency, never a wrong answer.
 */
async function holdWait(deps: AppDeps, principal: Principal, id: string, holdSeconds: number, signal: AbortSignal) {
  let row = await readableWait(deps, principal, id);
  if (row.status !== 'WAITING' || holdSeconds === 0) return row;
  const sub = deps.notifier.subscribe(waitNudgeKey(id));
  try {
    const deadline = Date.now() + holdSeconds * 1000;
    const stop = AbortSignal.any([signal, deps.shutdown]);
    // Looked at again once subscribed: a resolution between the first look and the subscription is not missed.
    row = await readableWait(deps, principal, id);
    while (row.status === 'WAITING' && !stop.aborted) {
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      await sub.wait(remaining, stop);
      row = await readableWait(deps, principal, id);
    }
    return row;
  } finally {
    sub.close();
  }
}

export const waitHandlers = {
  flowRunWaitsCreate: async ({ params, body, principal, deps }) => {
    const { wait } = await createWait(deps.sql, {
      workspaceId: principal.workspaceId,
      runId: params.id,
      attempt: holder(principal).attempt,
      request: body,
    });
    return { wait };
  },

  flowRunSuspend: ({ params, body, principal, deps }) =>
    suspendRun(deps.sql, {
      workspaceId: principal.workspaceId,
      runId: params.id,
      ...holder(principal),
      waitId: body.waitId,
      results: body.results,
    }),

  flowRunReplay: async ({ params, principal, deps }) => ({
    results: await listRecordedResults(deps.sql, principal.workspaceId, params.id),
  }),

  waitsList: async ({ query, principal, deps }) => {
    const before = decodeCursor(query.cursor, WaitCursor);
    const rows = await listWaits(
      deps.sql,
      principal.workspaceId,
      {
        status: query.status,
        kind: query.kind,
        flowRunId: query.flowRunId,
        before: before ? { createdAt: new Date(before[0]), id: before[1] } : undefined,
      },
      query.limit + 1,
    );
    const { page: items, nextCursor } = pageOf(rows.map(toWait), query.limit, (last) => [last.createdAt, last.id]);
    return { items, nextCursor };
  },

  waitsGet: async ({ params, query, principal, deps, signal }) => ({
    wait: toWait(await holdWait(deps, principal, params.id, query.holdSeconds, signal)),
  }),

  waitsDecide: async ({ params, body, principal, deps }) => ({
    wait: await decideApproval(deps.sql, {
      workspaceId: principal.workspaceId,
      waitId: params.id,
      principal,
      approved: body.approved,
      data: body.data,
      comment: body.comment,
    }),
  }),

  waitTokensComplete: ({ params, body, principal, deps }) =>
    completeToken(deps.sql, { workspaceId: principal.workspaceId, token: params.token, value: body.value }),

  externalPollsClaim: async ({ params, body, principal, deps }) => {
    const polls = await claimExternalPolls(deps.sql, {
      ...(await poolScope(deps.sql, principal, params.pool)),
      workerId: body.workerId,
      labels: body.labels ?? {},
      limit: body.limit,
      timeoutSeconds: externalPollTimeoutSeconds(deps.leaseSeconds),
    });
    return { polls };
  },

  externalPollsComplete: async ({ params, body, principal, deps }) => {
    return completeExternalPoll(deps.sql, {
      ...(await poolScope(deps.sql, principal, params.pool)),
      waitId: params.id,
      request: body,
    });
  },
} satisfies Pick<
  Handlers,
  | 'flowRunWaitsCreate'
  | 'flowRunSuspend'
  | 'flowRunReplay'
  | 'waitsList'
  | 'waitsGet'
  | 'waitsDecide'
  | 'waitTokensComplete'
  | 'externalPollsClaim'
  | 'externalPollsComplete'
>;

/** How long one poll of an external job may take: the run lease's length, at least 10 s, at most 5 minutes. */
export const externalPollTimeoutSeconds = (leaseSeconds: number) => Math.min(300, Math.max(10, leaseSeconds));
