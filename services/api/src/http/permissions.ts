import { type Role, type RouteDef, routes } from '@outpost/sdk/contracts';
import type { Context } from 'hono';
import { checkRole } from '../auth/access.js';
import { authenticateRequest, type Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { isDomainError } from '../domain-error.js';
import { clientAddress } from './client-address.js';
import type { AppEnv } from './env.js';
import type { RateSubject } from './rate-limit.js';

/*
 * Who may call what is decided in one place: the `access` of each route in the contract table
 * (sdk/src/contracts/routes.ts) — roles, run tokens, a session, the metrics token, or anonymous —
 * checked by the one pipeline (routes/mount.ts) for every route. The anonymous entries of the
 * table are the routes reachable without a credential; the only paths outside the table at all are
 * the two health probes listed here, each matched exactly (no prefix, suffix or case folding: a path
 * that merely ends in "healthz" is an ordinary, authenticated path).
 */

export interface PublicPath {
  method: 'GET';
  /** A full path, compared exactly. */
  path: string;
  why: string;
}

export const PUBLIC_PATHS: readonly PublicPath[] = [
  { method: 'GET', path: '/healthz', why: 'liveness probe for load balancers; answers {"status":"ok"} and nothing else' },
  { method: 'GET', path: '/readyz', why: 'readiness probe; says only whether the database is reachable and migrated' },
];

function pattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

const PUBLIC_PATTERNS = PUBLIC_PATHS.map((p) => ({ method: p.method, pattern: pattern(p.path) }));

/** Whether this exact method and path is one of the health probes, the only paths outside the route table. */
export function isPublicPath(method: string, path: string): boolean {
  const m = method === 'HEAD' ? 'GET' : method;
  return PUBLIC_PATTERNS.some((p) => p.method === m && p.pattern.test(path));
}

/** The buckets a principal's requests are counted in: its credential and its workspace, by traffic class. */
export function rateSubject(principal: Principal): RateSubject {
  switch (principal.kind) {
    case 'api_key':
      return {
        workspaceId: principal.workspaceId,
        credential: principal.keyId,
        traffic: principal.role === 'worker' ? 'runtime' : 'api',
      };
    case 'run_token':
      return { workspaceId: principal.workspaceId, credential: principal.runId, traffic: 'runtime' };
    case 'session':
      return { workspaceId: principal.workspaceId, credential: principal.sessionId, traffic: 'api' };
  }
}

export function requestAddress(c: Context<AppEnv>, deps: Pick<AppDeps, 'trustedProxyHops'>): string | null {
  return clientAddress(c, deps.trustedProxyHops);
}

/**
 * The request's principal (bearer credential or session cookie), counted against the rate limits:
 * a failed authentication against the client address's anonymous allowance, so guessing
 * credentials is throttled on every path that takes one (the route table, the OpenAPI document,
 * unknown paths under /api, the audit export, the event stream), and a credential against its own
 * and its workspace's allowance.
 */
export async function authenticateCounted(c: Context<AppEnv>, deps: AppDeps): Promise<Principal> {
  let principal: Principal;
  try {
    principal = await authenticateRequest(c.req, deps);
  } catch (error) {
    if (isDomainError(error, 'unauthenticated')) deps.rateLimiter.checkAnonymous(requestAddress(c, deps));
    throw error;
  }
  c.set('principal', principal);
  deps.rateLimiter.check(rateSubject(principal));
  return principal;
}

/**
 * Authenticates the request, counts it against the rate limits (`authenticateCounted`), and checks
 * the route's access: the one gate of every authenticated route.
 */
export async function authorize(
  c: Context<AppEnv>,
  deps: AppDeps,
  route: RouteDef,
  /** Runs once the caller is known and within its rate, before the role check: what it notes covers a refusal too. */
  onAuthenticated?: (principal: Principal) => void,
): Promise<Principal> {
  // Counted before anything is noted: a flood that is refused must not turn into audit writes.
  const principal = await authenticateCounted(c, deps);
  onAuthenticated?.(principal);
  checkRole(route, principal);
  return principal;
}

/**
 * Whether the principal may read the audit log: the roles of `GET /audit-log`, one rule for every
 * place that shows audited actions (the ledger's `audit.*` events too).
 */
export function mayReadAuditLog(principal: Principal): boolean {
  if (principal.kind === 'run_token') return false;
  const readers: readonly Role[] = routes.auditLogList.access.roles;
  return readers.includes(principal.role);
}
