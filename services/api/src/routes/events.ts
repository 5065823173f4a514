import { routes } from '@outpost/sdk/contracts';
import type { Hono } from 'hono';
import { authorize } from '../auth/permissions.js';
import type { AppDeps } from '../context.js';
import { ApiError } from '../errors.js';
import type { AppEnv } from '../http/env.js';
import { API_PREFIX } from '../http/mount-routes.js';
import { parseQuery } from '../http/request-input.js';
import type { RunEventHub } from '../runs/run-event-hub.js';

/**
 * `GET /flow-runs/events`: the caller's workspace's run changes as Server-Sent Events, with the
 * same authentication and role check as every table route. Mounted before the table routes, so
 * `/flow-runs/:id` never sees the path.
 */
export function mountRunEvents(app: Hono<AppEnv>, deps: AppDeps, hub: RunEventHub): void {
  const route = routes.flowRunsEvents;
  app.get(`${API_PREFIX}${route.path}`, async (c) => {
    const principal = await authorize(c, deps, route);
    parseQuery(route, new URL(c.req.url));
    if (deps.shutdown.aborted)
      throw new ApiError('unavailable', 'the server is shutting down', { headers: { 'retry-after': '5' } });
    return hub.open(principal.workspaceId, c.req.raw.signal);
  });
}
