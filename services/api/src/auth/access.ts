import type { RouteDef } from '@outpost/sdk/contracts';
import type { Sql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { type AttemptFence, attemptClaimedByOther, isSubflowOf, keyHoldsRun, keyRanRun } from './db/run-access.js';
import type { Principal } from './principal.js';

/** Routes under /flow-runs/:id name one run; run tokens and worker keys may act only on their own. */
function targetRun(route: RouteDef, params: Record<string, unknown>): string | null {
  if (!route.path.startsWith('/flow-runs/:')) return null;
  const id = params.runId ?? params.id;
  return typeof id === 'string' ? id : null;
}

/** May this principal call the route at all? Checked before the request is parsed. */
export function checkRole(route: RouteDef, principal: Principal): void {
  if (route.access.organisationTokenOnly) {
    throw new DomainError(
      'forbidden',
      `only an organisation token holding the scope "${route.access.organisationToken}" can call this route: sessions, API keys and run tokens cannot`,
    );
  }
  if (principal.kind === 'run_token') {
    if (!route.access.runToken) throw new DomainError('forbidden', 'a run token cannot call this route');
    return;
  }
  if (!route.access.roles.includes(principal.role)) {
    throw new DomainError('forbidden', `the role "${principal.role}" cannot call this route`);
  }
  if (route.access.person && !(principal.kind === 'session' && principal.userId)) {
    throw new DomainError('forbidden', 'only a person signed in with a password or single sign-on can call this route');
  }
  if (principal.archived && route.method !== 'GET' && !route.access.whileArchived) throw workspaceArchived();
}

/**
 * The refusal of a change to an archived workspace. Run tokens are never refused (their runs started
 * before the archive and may finish), nor are the routes marked `whileArchived`.
 */
export function workspaceArchived(): DomainError {
  return new DomainError(
    'conflict',
    'this workspace is archived: its history can be read, and it takes no changes and no new work until an organisation owner or admin restores it',
  );
}

/**
 * Routes whose handler checks a run token's fence (attempt claimed again by another worker) in its
 * own first statement when the call is for the token's own run: the hottest writes of a run save
 * the round trip of a query of their own. See `ownFence`.
 */
export const FENCED_BY_HANDLER: ReadonlySet<string> = new Set(['flowRunsSetState', 'logsWrite']);

export type { AttemptFence } from './db/run-access.js';

/** The fence a FENCED_BY_HANDLER route checks itself: a run token's, for its own run; null otherwise. */
export function ownFence(principal: Principal, runId: string): AttemptFence | null {
  if (principal.kind !== 'run_token' || principal.workerId === undefined || runId !== principal.runId) return null;
  return { attempt: principal.attempt, workerId: principal.workerId };
}

/** The refusal of a write by a worker whose attempt another worker claimed again. */
export function claimedAgain(attempt: number): DomainError {
  return new DomainError('stale_attempt', `attempt ${attempt} of this run was claimed again by another worker`);
}

/**
 * Object-level checks once params and body are parsed. A run token acts on its own run and on the
 * subflow runs started under it (they run in its process), nothing else; on a route that names no
 * run (dynamic partition sets) it acts in its workspace like any caller. Another run than those,
 * or a run the worker key does not hold, is a 404 exactly like a missing run; a write carrying
 * another attempt than the token's is a 409 stale_attempt.
 */
export async function checkTarget(
  route: RouteDef,
  principal: Principal,
  params: Record<string, unknown>,
  body: unknown,
  sql: Sql,
  name = '',
): Promise<void> {
  const runId = targetRun(route, params);
  if (principal.kind === 'run_token') {
    if (runId === null) return;
    if (runId !== principal.runId && !(await isSubflowOf(sql, principal.workspaceId, runId, principal.runId))) {
      throw notFound('flow run');
    }
    if (body && typeof body === 'object') {
      const { attempt, flowRunAttempt } = body as { attempt?: unknown; flowRunAttempt?: unknown };
      for (const value of [attempt, flowRunAttempt]) {
        if (typeof value === 'number' && value !== principal.attempt) {
          throw new DomainError('stale_attempt', `this run token is for attempt ${principal.attempt}`);
        }
      }
    }
    // A run handed back unstarted keeps its attempt for its next claimer: the worker that lost it may not write to it.
    if (
      route.method !== 'GET' &&
      principal.workerId !== undefined &&
      !(FENCED_BY_HANDLER.has(name) && runId === principal.runId)
    ) {
      if (await attemptClaimedByOther(sql, principal.workspaceId, principal.runId, principal.attempt, principal.workerId)) {
        throw claimedAgain(principal.attempt);
      }
    }
    return;
  }
  if (principal.role !== 'worker') return;
  const pool = params.pool;
  if (typeof pool === 'string' && principal.pools.length > 0 && !principal.pools.includes(pool)) {
    throw new DomainError('forbidden', `this worker key may not use the work pool "${pool}"`);
  }
  if (runId === null) return;
  const allowed = route.access.workerHistory
    ? await keyRanRun(sql, principal.workspaceId, principal.keyId, runId)
    : await keyHoldsRun(sql, principal.workspaceId, principal.keyId, runId);
  if (!allowed) throw notFound('flow run');
}
