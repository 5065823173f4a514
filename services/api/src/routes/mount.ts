import { type RouteDef, type RouteName, routes, SESSION_COOKIE, servedPath } from '@outpost/sdk/contracts';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { checkTarget } from '../auth/access.js';
import { ORGANISATION_TOKEN_PREFIX } from '../auth/api-key-format.js';
import { authenticateOrganisationToken, type OrganisationTokenCaller } from '../auth/organisation-tokens.js';
import { bearerToken, type Principal, principalLogFields } from '../auth/principal.js';
import { authenticateSession, checkSameOrigin, isHttps, readCookie } from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import { credentialRefused } from '../domain-error.js';
import { ApiError, errorCode } from '../errors.js';
import {
  type AuditNote,
  auditActor,
  collectIds,
  inlineAudit,
  isAudited,
  noteAudit,
  paramIds,
  sameIds,
  summarise,
} from '../http/audit.js';
import type { AppEnv } from '../http/env.js';
import { carriesMetricsToken } from '../http/metrics-handlers.js';
import { authenticateCounted, authorize, rateSubject, requestAddress } from '../http/permissions.js';
import { batchItems } from '../http/rate-limit.js';
import { parseBody, parseParams, parseQuery } from '../http/request-input.js';
import type { Handler, HandlerContext, Handlers, Recover, RouteHandler } from '../http/route-types.js';
import { checkStorageLimits } from '../http/storage-limits.js';

const DEFAULT_BODY_BYTES = 1024 * 1024;

/** The largest request body a route takes: what its entry says, 1 MiB otherwise. */
export function maxBodyBytes(name: RouteName): number {
  const route: RouteDef = routes[name];
  return route.maxBodyBytes ?? DEFAULT_BODY_BYTES;
}

/** `/flow-runs/:id` → a regex over the full path, for telling 405 from 404. */
export function pathPattern(path: string): RegExp {
  const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

export interface MountedRoute {
  method: string;
  pattern: RegExp;
}

const tooLarge = (): never => {
  throw new ApiError('payload_too_large', 'the request body is too large');
};

/**
 * Routes with fewer path parameters first: a literal segment outranks a parameter, so
 * `/flow-runs/events` answers before `/flow-runs/:id` could take it for an id.
 */
function mountOrder(): RouteName[] {
  const parameters = (name: RouteName) => (routes[name].path.match(/:/g) ?? []).length;
  return (Object.keys(routes) as RouteName[]).sort((a, b) => parameters(a) - parameters(b));
}

/**
 * Mounts every route of the contract table through one pipeline (`serve`), and returns what it
 * mounted. The operator's route exists only on a server with a metrics token: without one its
 * path answers as any unknown path does.
 */
export function mountRoutes(app: Hono<AppEnv>, deps: AppDeps, handlers: Handlers): MountedRoute[] {
  const mounted: MountedRoute[] = [];
  for (const name of mountOrder()) {
    const route: RouteDef = routes[name];
    if (route.access.operator && !deps.metricsTokenDigest) continue;
    const handler = handlers[name] as RouteHandler<RouteName>;
    const handle = typeof handler === 'function' ? handler : handler.handle;
    const recover: Recover | null = typeof handler === 'function' ? null : handler.recover;
    const path = servedPath(route);
    app.on(route.method, path, bodyLimit({ maxSize: maxBodyBytes(name), onError: tooLarge }), async (c) => {
      const cookies: string[] = [];
      try {
        return finish(route, await serve(c, deps, name, route, handle, cookies), cookies);
      } catch (error) {
        const recovered = recover?.(error, { url: new URL(c.req.url), header: (h) => c.req.header(h) });
        if (!recovered) throw error;
        return finish(route, recovered, []);
      }
    });
    mounted.push({ method: route.method, pattern: pathPattern(path) });
  }
  return mounted;
}

/**
 * One request of one route, every step taken from the route's entry: count it (`rate`), find the
 * caller (`access`) and note it for the audit log, parse and validate params, query and body
 * strictly, check the origin (`access.sameOrigin`), meter batches, scope objects to the caller,
 * call the handler, check its answer against the contract (in tests and development) and send it.
 */
async function serve(
  c: Context<AppEnv>,
  deps: AppDeps,
  name: RouteName,
  route: RouteDef,
  handle: Handler<RouteName>,
  cookies: string[],
): Promise<Response> {
  const address = requestAddress(c, deps);
  if (route.rate === 'address') deps.rateLimiter.checkAnonymous(address);
  else if (route.rate === 'key-set') deps.rateLimiter.checkJwks(address);

  // Assigned in the callback; the cast keeps TypeScript from narrowing it to null for good.
  let audit = null as AuditNote | null;
  let organisationToken = null as OrganisationTokenCaller | null;
  const principal = await callerOf(
    c,
    deps,
    route,
    address,
    (token) => {
      organisationToken = token;
    },
    (caller) => {
      if (route.audit === 'handler' || !isAudited(name, route.method, caller)) return;
      audit = { workspaceId: caller.workspaceId, ...auditActor(caller), action: name, targetIds: {}, resultIds: {}, summary: {} };
      noteAudit(c, audit);
    },
  );
  const logger = principal
    ? c.get('logger').child(principalLogFields(principal))
    : organisationToken
      ? c.get('logger').child({ organisationTokenId: (organisationToken as OrganisationTokenCaller).tokenId })
      : c.get('logger');
  const params = parseParams(route, c.req.param() as Record<string, string>);
  if (audit) audit.targetIds = paramIds(params);
  const url = new URL(c.req.url);
  const query = parseQuery(route, url);
  const body = await parseBody(route, c.req);
  // Checked once the input is known to be well-formed, so a malformed request is a 400 wherever it comes from.
  if (route.access.sameOrigin) checkSameOrigin(c.req);
  if (principal) {
    // Work, not round trips: a batch is charged for what it carries.
    deps.rateLimiter.chargeItems(rateSubject(principal), batchItems(body));
  }
  if (audit) {
    audit.targetIds = { ...collectIds(body), ...audit.targetIds };
    audit.summary = summarise(body);
  }
  checkStorageLimits(name, body);
  if (principal && !route.access.anyCredential) await checkTarget(route, principal, params, body, deps.sql, name);

  let status: number = route.status ?? 200;
  let location: string | null = null;
  const ctx: HandlerContext<RouteName> = {
    params: params as never,
    query: query as never,
    body: body as never,
    principal: principal as never,
    organisationToken,
    deps,
    logger,
    url,
    header: (h) => c.req.header(h),
    headers: () => c.req.header(),
    rawBody: async () => new Uint8Array(await c.req.arrayBuffer()),
    address,
    secure: isHttps(c.req),
    signal: c.req.raw.signal,
    status: (code) => {
      status = code;
    },
    setCookies: (values) => {
      cookies.push(...values);
    },
    location: (href) => {
      location = href;
    },
    audit: (note) => noteAudit(c, { action: name, ...note }),
    auditInStatement: () => inlineAudit(c, audit, route.status ?? 200, address),
  };
  const result = await handle(ctx);
  if (result instanceof Response) return result;
  if (deps.validateResponses) {
    const checked = route.response.safeParse(result);
    if (!checked.success) {
      logger.error({ route: name, issues: checked.error.issues }, 'response does not match its contract');
      throw new Error(`response of ${name} does not match its contract`);
    }
  }
  if (audit) {
    const resultIds = collectIds(result);
    // An entry the handler's statement wrote holds the ids the statement computed: they must be the answer's.
    if (audit.written && deps.validateResponses && !sameIds(audit.resultIds, resultIds)) {
      logger.error({ route: name, written: audit.resultIds, answered: resultIds }, 'audit entry ids differ from the answer');
      throw new Error(`audit entry of ${name} does not name the ids of its answer`);
    }
    if (!audit.written) audit.resultIds = resultIds;
  }
  if (location !== null) c.header('location', location);
  if (status === 204) return c.body(null, 204);
  if (route.produces === 'application/jwk-set+json' || route.produces === 'application/scim+json') {
    return c.body(JSON.stringify(result), status as 200, { 'content-type': route.produces });
  }
  return c.json(result as object, status as 200);
}

/**
 * The caller, by the route's access: none for an anonymous route (but the live session of one that
 * reads it) or the operator's, the principal of any valid credential where any will do, and
 * otherwise the principal `authorize` admits — counted against the rate limits in every case, and
 * a failed authentication against the client address.
 */
async function callerOf(
  c: Context<AppEnv>,
  deps: AppDeps,
  route: RouteDef,
  address: string | null,
  onOrganisationToken: (caller: OrganisationTokenCaller) => void,
  onAuthenticated: (principal: Principal) => void,
): Promise<Principal | null> {
  const { access } = route;
  if (access.operator) {
    authenticateOperator(c, deps, address);
    return null;
  }
  if (access.organisationToken) {
    const offered = bearerToken(c.req.header('authorization'));
    if (offered?.startsWith(ORGANISATION_TOKEN_PREFIX)) {
      onOrganisationToken(await authenticateOrganisationTokenCounted(deps, offered, access.organisationToken, address));
      return null;
    }
    // Without any credential, say which one the route takes (any other credential is refused below).
    if (
      access.organisationTokenOnly &&
      offered === undefined &&
      readCookie(c.req.header('cookie'), SESSION_COOKIE) === undefined
    ) {
      deps.rateLimiter.checkAnonymous(address);
      throw credentialRefused(
        `send an organisation token holding the scope "${access.organisationToken}" as "Authorization: Bearer opo_…"`,
      );
    }
  }
  if (access.anonymous) return access.optionalSession ? liveSession(c, deps, address) : null;
  if (access.anyCredential) return authenticateCounted(c, deps);
  return authorize(c, deps, route, onAuthenticated);
}

/**
 * An organisation token, counted like any credential: a failed authentication against the client
 * address, a live token against its own allowance and its organisation's.
 */
export async function authenticateOrganisationTokenCounted(
  deps: AppDeps,
  token: string,
  scope: NonNullable<RouteDef['access']['organisationToken']>,
  address: string | null,
): Promise<OrganisationTokenCaller> {
  let caller: OrganisationTokenCaller;
  try {
    caller = await authenticateOrganisationToken(deps.sql, token, scope);
  } catch (error) {
    if (errorCode(error) === 'unauthenticated') deps.rateLimiter.checkAnonymous(address);
    throw error;
  }
  deps.rateLimiter.check({ workspaceId: `organisation:${caller.organisationId}`, credential: caller.tokenId, traffic: 'api' });
  return caller;
}

/** The operator's metrics token, compared in constant time; anything else is a failed authentication. */
function authenticateOperator(c: Context<AppEnv>, deps: AppDeps, address: string | null): void {
  const offered = bearerToken(c.req.header('authorization'));
  if (deps.metricsTokenDigest && offered !== undefined && carriesMetricsToken(offered, deps.metricsTokenDigest)) return;
  deps.rateLimiter.checkAnonymous(address);
  throw credentialRefused('send the metrics token as "Authorization: Bearer <token>"');
}

/**
 * The session the cookie names, if it is live (origin and CSRF checked, as for any mutation) and
 * counted against its allowance. A cookie that names no live session is a failed authentication:
 * guessing session tokens here is throttled like anywhere else.
 */
async function liveSession(c: Context<AppEnv>, deps: AppDeps, address: string | null): Promise<Principal | null> {
  const token = readCookie(c.req.header('cookie'), SESSION_COOKIE);
  if (token === undefined) return null;
  try {
    const principal = await authenticateSession(deps.sql, c.req, token);
    deps.rateLimiter.check(rateSubject(principal));
    return principal;
  } catch (error) {
    if (errorCode(error) !== 'unauthenticated') throw error;
    deps.rateLimiter.checkAnonymous(address);
    return null;
  }
}

/** The route's cookies and Cache-Control, on whatever the handler answered. */
function finish(route: RouteDef, res: Response, cookies: readonly string[]): Response {
  if (cookies.length === 0 && route.cacheControl === undefined) return res;
  const answer = new Response(res.body, res);
  for (const cookie of cookies) answer.headers.append('set-cookie', cookie);
  if (route.cacheControl !== undefined) answer.headers.set('cache-control', route.cacheControl);
  return answer;
}
