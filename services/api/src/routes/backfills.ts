import { randomUUID } from 'node:crypto';
import { MAX_BACKFILL_RUNS } from '@outpost/sdk/contracts';
import { z } from 'zod';
import { getBackfill, insertBackfill, listBackfills, markBackfillCancelled } from '../db/backfills.js';
import { getDeployment } from '../db/deployments.js';
import { definitionOf } from '../db/schedules.js';
import { encodeCursor } from '../db/values.js';
import { ApiError, notFound } from '../errors.js';
import { assertParameters } from '../runs/parameter-schema.js';
import { proposeState } from '../runs/propose-state.js';
import { timesInRange } from '../scheduling/backfill-times.js';
import { timelineOf } from '../scheduling/timeline.js';
import { decodeCursor } from './pagination.js';
import type { Handlers } from './types.js';

const BackfillCursor = z.tuple([z.iso.datetime(), z.uuid()]);

/** `2025-06-01T11:00:00.000Z` → `20250601T110000Z`. */
function compactTime(at: Date): string {
  return `${at.toISOString().slice(0, 19).replace(/[-:]/g, '')}Z`;
}

export const backfillHandlers = {
  backfillsCreate: async ({ params, body, principal, deps }) => {
    const workspaceId = principal.workspaceId;
    const record = await getDeployment(deps.sql, workspaceId, params.id);
    if (!record) throw notFound('deployment');
    const { deployment } = record;
    const [schedule] = await deps.sql<
      {
        slug: string;
        cron: string | null;
        timezone: string | null;
        interval_seconds: number | null;
        anchor_date: Date | null;
        parameters: Record<string, unknown>;
      }[]
    >`
      SELECT slug, cron, timezone, interval_seconds, anchor_date, parameters FROM deployment_schedules
      WHERE deployment_id = ${deployment.id} ${body.schedule === undefined ? deps.sql`` : deps.sql`AND slug = ${body.schedule}`}
      ORDER BY position, slug
      LIMIT 1`;
    if (!schedule) {
      throw new ApiError('validation_failed', 'the deployment has no such schedule to backfill', {
        errors: [
          body.schedule === undefined
            ? { path: 'body', message: `deployment ${deployment.flowName}/${deployment.name} has no schedule` }
            : {
                path: 'body.schedule',
                message: `deployment ${deployment.flowName}/${deployment.name} has no schedule "${body.schedule}"`,
              },
        ],
      });
    }
    const start = new Date(body.start);
    const end = new Date(body.end);
    const times = timesInRange(timelineOf(definitionOf(schedule)), start, end, MAX_BACKFILL_RUNS);
    if (times === null) {
      throw new ApiError('validation_failed', `a backfill creates at most ${MAX_BACKFILL_RUNS} runs`, {
        errors: [
          {
            path: 'body.end',
            message: `schedule "${schedule.slug}" has more than ${MAX_BACKFILL_RUNS} times in [start, end); split the range`,
          },
        ],
      });
    }
    if (times.length === 0) {
      throw new ApiError('validation_failed', 'the range holds no scheduled time', {
        errors: [{ path: 'body.start', message: `schedule "${schedule.slug}" has no time in [start, end)` }],
      });
    }
    const parameters = body.parameters ?? {};
    if (deployment.parameterSchema) {
      assertParameters(
        deployment.parameterSchema,
        { ...deployment.parameters, ...schedule.parameters, ...parameters },
        'body.parameters',
      );
    }
    const id = randomUUID();
    await deps.sql.begin((tx) =>
      insertBackfill(tx, {
        id,
        workspaceId,
        deploymentId: deployment.id,
        scheduleSlug: schedule.slug,
        start,
        end,
        maxConcurrent: body.maxConcurrent,
        parameters,
        runs: times.map((at) => ({
          key: `backfill:${id}:${at.toISOString()}`,
          name: `${deployment.name}-backfill-${compactTime(at)}`,
          at,
        })),
      }),
    );
    const backfill = await getBackfill(deps.sql, workspaceId, id);
    if (!backfill) throw new Error(`backfill ${id} vanished after it was created`);
    return backfill;
  },

  backfillsList: async ({ params, query, principal, deps }) => {
    const cursor = decodeCursor(query.cursor, BackfillCursor);
    const record = await getDeployment(deps.sql, principal.workspaceId, params.id);
    if (!record) throw notFound('deployment');
    const before = cursor ? { createdAt: new Date(cursor[0]), id: cursor[1] } : null;
    const rows = await listBackfills(deps.sql, principal.workspaceId, params.id, before, query.limit + 1);
    const items = rows.slice(0, query.limit);
    const last = items.at(-1);
    return { items, nextCursor: rows.length > query.limit && last ? encodeCursor([last.createdAt, last.id]) : null };
  },

  backfillsGet: async ({ params, principal, deps }) => {
    const backfill = await getBackfill(deps.sql, principal.workspaceId, params.id);
    if (!backfill) throw notFound('backfill');
    return backfill;
  },

  backfillsCancel: async ({ params, principal, deps, logger }) => {
    const workspaceId = principal.workspaceId;
    const waiting = await deps.sql.begin((tx) => markBackfillCancelled(tx, workspaceId, params.id));
    if (waiting === null) throw notFound('backfill');
    // Each run goes through the state rules like a user's cancel; the claim already skips them all.
    for (const runId of waiting) {
      try {
        await proposeState(deps.sql, deps.metrics, {
          workspaceId,
          runId,
          transitionId: randomUUID(),
          state: { type: 'CANCELLED', message: 'backfill cancelled' },
          attempt: null,
          actor: 'user',
        });
      } catch (error) {
        logger.warn({ err: error, runId, backfillId: params.id }, 'cannot cancel a run of a cancelled backfill');
      }
    }
    const backfill = await getBackfill(deps.sql, workspaceId, params.id);
    if (!backfill) throw notFound('backfill');
    return backfill;
  },
} satisfies Pick<Handlers, 'backfillsCreate' | 'backfillsList' | 'backfillsGet' | 'backfillsCancel'>;
