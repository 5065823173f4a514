import { dashboardDir } from '@outpost/dashboard';
import { API_PREFIX } from '@outpost/sdk/contracts';
import { Hono } from 'hono';
import { ORGANISATION_TOKEN_PREFIX } from './auth/api-key-format.js';
import { bearerToken } from './auth/principal.js';
import type { AppDeps } from './context.js';
import { migrationsApplied } from './db/migrate.js';
import { ApiError } from './errors.js';
import { EventHub } from './events/event-hub.js';
import { auditTrail } from './http/audit.js';
import { clientVersions } from './http/client-versions.js';
import type { AppEnv } from './http/env.js';
import { authenticateCounted, requestAddress } from './http/permissions.js';
import { handleError, problemResponse } from './http/problems.js';
import { requestContext } from './http/request-context.js';
import { requestMetrics } from './http/request-metrics.js';
import { isScimPath } from './http/scim-errors.js';
import { baseSecurityHeaders, isApiPath, serveDashboard } from './http/static.js';
import { routeHandlers } from './routes/index.js';
import { authenticateOrganisationTokenCounted, mountRoutes } from './routes/mount.js';
import { RunEventHub } from './runs/run-event-hub.js';
import { requestTracing } from './telemetry/tracing.js';

/** The only paths outside the route table: the probes, each matched exactly. */
const PROBES = [
  { method: 'GET', pattern: /^\/healthz$/ },
  { method: 'GET', pattern: /^\/readyz$/ },
];

/** The HTTP API as a hono app: served by startServer, or called in tests with `app.request()`. */
export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.use('*', requestTracing());
  app.use('*', requestContext(deps.logger));
  app.use('*', requestMetrics(deps.metrics));
  app.use('*', baseSecurityHeaders());
  app.use('*', clientVersions());
  app.use(
    `${API_PREFIX}/*`,
    auditTrail(deps, (c) => requestAddress(c, deps)),
  );

  // The process is up; says nothing about the database (that is /readyz).
  app.get('/healthz', (c) => c.json({ status: 'ok' }));

  app.get('/readyz', async (c) => {
    if (deps.shutdown.aborted) return problemResponse(c, new ApiError('unavailable', 'the server is shutting down'));
    let ready = false;
    try {
      ready = await migrationsApplied(deps.sql);
    } catch (error) {
      c.get('logger').warn({ err: error }, 'readiness check cannot reach the database');
      return problemResponse(c, new ApiError('unavailable', 'the database is not reachable'));
    }
    if (!ready) return problemResponse(c, new ApiError('unavailable', 'database migrations are not applied'));
    return c.json({ status: 'ready' });
  });

  const runEvents = new RunEventHub(deps.sql, deps.notifier, deps.logger);
  deps.shutdown.addEventListener('abort', () => runEvents.close(), { once: true });
  const ledgerEvents = new EventHub(deps.sql, deps.notifier, deps.logger);
  deps.shutdown.addEventListener('abort', () => ledgerEvents.close(), { once: true });
  const known = [...mountRoutes(app, deps, routeHandlers({ runEvents, ledgerEvents })), ...PROBES];
  // Last of all GET routes: the dashboard answers every GET outside /api that nothing above answered.
  app.get('*', serveDashboard(deps.dashboardDir === undefined ? dashboardDir : deps.dashboardDir));

  app.notFound(async (c) => {
    const path = c.req.path;
    // Under /api nothing, not even whether a route exists, is told to a caller without a credential;
    // probing credentials here is throttled like anywhere else, and a caller's 404s count against it.
    if (isApiPath(path)) {
      try {
        // A directory probing what its SCIM service provider has (`/Bulk`, `/Me`) does so with its token.
        const bearer = bearerToken(c.req.header('authorization'));
        if (isScimPath(path) && bearer?.startsWith(ORGANISATION_TOKEN_PREFIX)) {
          await authenticateOrganisationTokenCounted(deps, bearer, 'scim', requestAddress(c, deps));
        } else {
          await authenticateCounted(c, deps);
        }
      } catch (error) {
        return handleError(deps.logger)(error as Error, c);
      }
    }
    const allowed = [...new Set(known.filter((r) => r.pattern.test(path)).map((r) => r.method))];
    if (allowed.length === 0) return problemResponse(c, new ApiError('not_found', `no route ${c.req.method} ${path}`));
    if (allowed.includes('GET')) allowed.push('HEAD');
    return problemResponse(
      c,
      new ApiError('method_not_allowed', `${c.req.method} is not allowed here`, { headers: { allow: allowed.join(', ') } }),
    );
  });
  app.onError(handleError(deps.logger));
  return app;
}
