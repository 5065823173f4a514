import { type RouteDef, type RouteName, routes } from '@outpost/sdk/contracts';
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { checkTarget } from '../auth/access.js';
import { authorize, rateSubject } from '../auth/permissions.js';
import { principalLogFields } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import type { Handler, HandlerContext, Handlers } from '../routes/types.js';
import { type AuditNote, auditActor, collectIds, isAudited, noteAudit, paramIds, summarise } from './audit.js';
import type { AppEnv } from './env.js';
import { batchItems } from './rate-limit.js';
import { parseBody, parseParams, parseQuery } from './request-input.js';
import { checkStorageLimits } from './storage-limits.js';

export const API_PREFIX = '/api/v1';
const MiB = 1024 * 1024;

/** Routes that carry log lines: up to 1,000 of 32 KiB a request. */
const CARRIES_LOGS: ReadonlySet<RouteName> = new Set(['logsWrite', 'poolRunsLogsWrite', 'flowRunsSetState']);

/** Log batches may carry up to 1,000 lines of 32 KiB; everything else stays small. */
export function maxBodyBytes(name: RouteName): number {
  return CARRIES_LOGS.has(name) ? 5 * MiB : MiB;
}

const tooLarge = (): never => {
  throw new ApiError('payload_too_large', 'the request body is too large');
};

/**
 * Mounts every route of the contract table the same way: authenticate, count against the rate
 * limits and check the role (`authorize`), parse and validate params, query and body strictly,
 * check object-level access, call the handler, (in tests and development) check the response
 * against its contract, and note mutations for the audit log — refused ones included.
 */
export function mountRoutes(app: Hono<AppEnv>, deps: AppDeps, handlers: Handlers): void {
  for (const name of Object.keys(routes) as RouteName[]) {
    const route: RouteDef = routes[name];
    // Signing in and out, a person's own account and event streams are mounted by their own modules
    // (routes/auth.ts, routes/users.ts, routes/account.ts, routes/events.ts).
    if (route.access.anonymous || route.access.person || route.stream) continue;
    const handler = (handlers as Record<string, unknown>)[name] as Handler<RouteName>;
    const path = `${API_PREFIX}${route.path}`;
    app.on(route.method, path, bodyLimit({ maxSize: maxBodyBytes(name), onError: tooLarge }), async (c) => {
      // Assigned in the callback; the cast keeps TypeScript from narrowing it to null for good.
      let audit = null as AuditNote | null;
      const principal = await authorize(c, deps, route, (caller) => {
        if (!isAudited(name, route.method, caller)) return;
        audit = {
          workspaceId: caller.workspaceId,
          ...auditActor(caller),
          action: name,
          targetIds: {},
          resultIds: {},
          summary: {},
        };
        noteAudit(c, audit);
      });
      const logger = c.get('logger').child(principalLogFields(principal));
      const params = parseParams(route, c.req.param() as Record<string, string>);
      if (audit) audit.targetIds = paramIds(params);
      const query = parseQuery(route, new URL(c.req.url));
      const body = await parseBody(route, c.req);
      // Work, not round trips: a batch is charged for what it carries.
      deps.rateLimiter.chargeItems(rateSubject(principal), batchItems(body));
      if (audit) {
        audit.targetIds = { ...collectIds(body), ...audit.targetIds };
        audit.summary = summarise(body);
      }
      checkStorageLimits(name, body);
      await checkTarget(route, principal, params, body, deps.sql);

      let status: number = route.status ?? 200;
      const ctx: HandlerContext<RouteName> = {
        params: params as never,
        query: query as never,
        body: body as never,
        principal,
        deps,
        logger,
        header: (h) => c.req.header(h),
        signal: c.req.raw.signal,
        status: (code) => {
          status = code;
        },
      };
      const result = await handler(ctx);
      if (deps.validateResponses) {
        const checked = route.response.safeParse(result);
        if (!checked.success) {
          logger.error({ route: name, issues: checked.error.issues }, 'response does not match its contract');
          throw new Error(`response of ${name} does not match its contract`);
        }
      }
      if (audit) audit.resultIds = collectIds(result);
      if (status === 204) return c.body(null, 204);
      return c.json(result as object, status as 200);
    });
  }
}

/** `/flow-runs/:id` → a regex over the full path, for telling 405 from 404. */
export function routePatterns(): { pattern: RegExp; method: string }[] {
  return Object.values(routes).map((route: RouteDef) => ({
    method: route.method,
    pattern: new RegExp(`^${API_PREFIX}${route.path.replace(/:[A-Za-z]+/g, '[^/]+')}$`),
  }));
}
