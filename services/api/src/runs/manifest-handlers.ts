import { DomainError, notFound } from '../domain-error.js';
import type { Handlers } from '../http/route-types.js';
import { apiKeyId } from '../http/scope.js';
import { getRunAttempt } from './db/flow-runs.js';
import { getRunManifest, recordAttemptEnvironment } from './db/run-manifests.js';
import { reproduceRun } from './reproduce-run.js';

export const runManifestHandlers = {
  flowRunsManifest: async ({ params, principal, deps }) => {
    const manifest = await getRunManifest(deps.sql, principal.workspaceId, params.id);
    if (!manifest) throw notFound('flow run');
    return manifest;
  },

  flowRunsReproduce: async ({ params, body, principal, deps }) =>
    reproduceRun(deps.sql, { workspaceId: principal.workspaceId, runId: params.id, name: body.name }),

  /**
   * Only the holder of the attempt reports where it runs, as only it reports the exit code: its run
   * token (for that very attempt, of its own run), or the worker key it was claimed with.
   */
  flowRunsReportEnvironment: async ({ params, body, principal, deps }) => {
    const attempt = /^[1-9][0-9]{0,8}$/.test(params.attempt) ? Number(params.attempt) : null;
    if (attempt === null) throw notFound('flow run attempt');
    if (principal.kind === 'run_token') {
      if (params.id !== principal.runId) throw notFound('flow run attempt');
      if (attempt !== principal.attempt) {
        throw new DomainError('stale_attempt', `this run token is for attempt ${principal.attempt}`);
      }
    }
    if ((await getRunAttempt(deps.sql, principal.workspaceId, params.id)) === null) throw notFound('flow run');
    const recorded = await recordAttemptEnvironment(deps.sql, {
      workspaceId: principal.workspaceId,
      runId: params.id,
      attempt,
      apiKeyId: apiKeyId(principal),
      report: body,
    });
    if (!recorded) throw notFound('flow run attempt');
    return { recorded };
  },
} satisfies Pick<Handlers, 'flowRunsManifest' | 'flowRunsReproduce' | 'flowRunsReportEnvironment'>;
