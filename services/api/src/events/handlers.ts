import { ApiError } from '../errors.js';
import type { Handlers } from '../http/route-types.js';
import type { RunEventHub } from '../runs/run-event-hub.js';

/**
 * `GET /flow-runs/events`: the caller's workspace's run changes as Server-Sent Events, from the
 * app's one hub (a single database listener shared by every open stream).
 */
export function runEventHandlers(hub: RunEventHub) {
  return {
    flowRunsEvents: async ({ principal, deps, signal }) => {
      if (deps.shutdown.aborted) {
        throw new ApiError('unavailable', 'the server is shutting down', { headers: { 'retry-after': '5' } });
      }
      return hub.open(principal.workspaceId, signal);
    },
  } satisfies Pick<Handlers, 'flowRunsEvents'>;
}
