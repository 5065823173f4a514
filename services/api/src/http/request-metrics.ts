import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import { type ApiMetrics, UNMATCHED_ROUTE } from '../metrics/api-metrics.js';
import type { AppEnv } from './env.js';
import { isApiPath } from './static.js';

const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** The route label of the dashboard's catch-all: its files and the page it answers unknown paths with. */
export const DASHBOARD_ROUTE = 'dashboard';

/**
 * The pattern of the route that answered (`/api/v1/flow-runs/:id`), never the path as sent, so the
 * label set stays small and no id reaches it. A request only middleware saw (no route matched its
 * method and path) is `unmatched`; one the dashboard's catch-all answered is `dashboard`, except
 * under /api, where the catch-all hands it to the not-found answer.
 */
export function routeLabel(c: Context<AppEnv>): string {
  const route = matchedRoutes(c)[c.req.routeIndex];
  if (!route || route.method === 'ALL') return UNMATCHED_ROUTE;
  if (route.path.includes('*')) return isApiPath(c.req.path) ? UNMATCHED_ROUTE : DASHBOARD_ROUTE;
  return route.path;
}

/** Counts and times every request by method, route pattern and status. */
export function requestMetrics(metrics: ApiMetrics): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    const method = METHODS.has(c.req.method) ? c.req.method : 'OTHER';
    metrics.requestAnswered(method, routeLabel(c), c.res.status, (performance.now() - started) / 1000);
  };
}
