import { randomUUID } from 'node:crypto';
import type { BackfillCreateRequest, PartitionSelection, PartitionsDefinition } from '@outpost/sdk/contracts';
import { dynamicPartitionNames, type KeyOptions } from '@outpost/sdk/partitions';
import type { z } from 'zod';
import { loadDynamicKeys } from '../assets/db/dynamic-partitions.js';
import type { Db, Sql, TxSql } from '../db/client.js';
import { getDeployment } from '../deployments/db/deployments.js';
import { DomainError, notFound } from '../domain-error.js';
import { workspaceQuotas } from '../quotas/quotas.js';
import { definitionOf } from '../runs/db/schedules.js';
import { assertParameters } from '../runs/parameter-schema.js';
import { advanceBackfill, type PassContext } from './advance-backfill.js';
import {
  type BackfillRecord,
  insertBackfill,
  type NewBackfill,
  nudgeBackfillLoop,
  type StoredSelection,
} from './db/backfills.js';
import { resolvePartitionSelection, SelectionError, storedTimeline, timeKeys } from './units.js';

interface ScheduleRow {
  slug: string;
  cron: string | null;
  timezone: string | null;
  interval_seconds: number | null;
  anchor_date: Date | null;
  parameters: Record<string, unknown>;
  partitions: PartitionsDefinition | null;
}

function invalid(detail: string, path: string, message: string): DomainError {
  return new DomainError('validation_failed', detail, { errors: [{ path, message }] });
}

/** Keys of a partitions definition as of now, with the workspace's dynamic sets it reads. */
export async function keyOptions(db: Db, workspaceId: string, def: PartitionsDefinition): Promise<KeyOptions> {
  const dynamic = await loadDynamicKeys(db, workspaceId, dynamicPartitionNames(def));
  return { now: new Date(), dynamicKeys: (name) => dynamic.get(name) ?? [] };
}

/** A partition selection resolved against a definition, its errors as field errors of the request. */
export function resolveSelection(
  def: PartitionsDefinition,
  selection: PartitionSelection,
  path: string,
  o: KeyOptions,
  limit?: number,
): { stored: StoredSelection; keys: string[] } {
  try {
    return resolvePartitionSelection(def, selection, path, o, limit);
  } catch (error) {
    if (error instanceof SelectionError) {
      throw new DomainError('validation_failed', 'the partition selection is invalid', { errors: error.fieldErrors });
    }
    throw error;
  }
}

/**
 * Inserts the backfill's row and runs its first pass in the same transaction, so the answer already
 * shows its first runs (at most maxConcurrent of them); the backfill loop creates the rest as they
 * finish. Returns the backfill's id.
 */
export async function startBackfill(
  sql: Sql,
  backfill: NewBackfill,
  keys: readonly string[],
  context: Omit<PassContext, 'keys'> = {},
): Promise<string> {
  await sql.begin(async (tx: TxSql) => {
    await insertBackfill(tx, backfill);
    await advanceBackfill(tx, backfill.id, { ...context, keys: (_b: BackfillRecord) => [...keys] });
    await nudgeBackfillLoop(tx, backfill.id);
  });
  return backfill.id;
}

/**
 * A backfill of a deployment over one of its schedules: every scheduled time in [start, end), or
 * the partitions of the schedule's partitions definition the request selects. Checked before
 * anything is written: the schedule, the range or selection (every key must be one of the
 * definition's), and the parameters merged over the deployment's and the schedule's.
 */
export async function createDeploymentBackfill(
  sql: Sql,
  input: { workspaceId: string; deploymentId: string; request: z.output<typeof BackfillCreateRequest> },
): Promise<string> {
  const { workspaceId, request } = input;
  const record = await getDeployment(sql, workspaceId, input.deploymentId);
  if (!record) throw notFound('deployment');
  const { deployment } = record;
  const name = `${deployment.flowName}/${deployment.name}`;
  const byPartitions = request.partitions !== undefined;
  const [schedule] = await sql<ScheduleRow[]>`
    SELECT slug, cron, timezone, interval_seconds, anchor_date, parameters, partitions FROM deployment_schedules
    WHERE deployment_id = ${deployment.id}
      ${request.schedule === undefined ? sql`` : sql`AND slug = ${request.schedule}`}
      ${request.schedule === undefined && byPartitions ? sql`AND partitions IS NOT NULL` : sql``}
    ORDER BY position, slug
    LIMIT 1`;
  if (!schedule) {
    const what = byPartitions ? 'schedule with partitions' : 'schedule';
    throw request.schedule === undefined
      ? invalid(`the deployment has no ${what} to backfill`, 'body', `deployment ${name} has no ${what}`)
      : invalid(
          'the deployment has no such schedule to backfill',
          'body.schedule',
          `deployment ${name} has no schedule "${request.schedule}"`,
        );
  }
  const parameters = request.parameters ?? {};
  if (deployment.parameterSchema) {
    assertParameters(
      deployment.parameterSchema,
      { ...deployment.parameters, ...schedule.parameters, ...parameters },
      'body.parameters',
    );
  }

  // A backfill's units are listed (and kept by its loop), so it covers at most the partition quota.
  const limit = (await workspaceQuotas(sql, workspaceId)).partitionsPerDefinition;
  let selection: StoredSelection;
  let keys: string[];
  let start: Date | null = null;
  let end: Date | null = null;
  if (request.partitions !== undefined) {
    if (!schedule.partitions) {
      throw invalid(
        'the schedule has no partitions',
        'body.partitions',
        `schedule "${schedule.slug}" of ${name} names no partitions definition; backfill a time range instead`,
      );
    }
    ({ stored: selection, keys } = resolveSelection(
      schedule.partitions,
      request.partitions,
      'body.partitions',
      await keyOptions(sql, workspaceId, schedule.partitions),
      limit,
    ));
  } else {
    start = new Date(request.start as string);
    end = new Date(request.end as string);
    const def = definitionOf(schedule);
    try {
      keys = timeKeys(def, start, end, 'body.end', limit);
    } catch (error) {
      if (error instanceof SelectionError) {
        throw new DomainError('validation_failed', 'the range covers too many scheduled times', { errors: error.fieldErrors });
      }
      throw error;
    }
    selection = {
      times: { start: start.toISOString(), end: end.toISOString() },
      timeline: storedTimeline(def),
    };
  }
  if (keys.length === 0) {
    throw request.partitions
      ? invalid('the selection holds no partition', 'body.partitions', 'no partition selected')
      : invalid('the range holds no scheduled time', 'body.start', `schedule "${schedule.slug}" has no time in [start, end)`);
  }
  return startBackfill(
    sql,
    {
      id: randomUUID(),
      workspaceId,
      deploymentId: deployment.id,
      target: 'deployment',
      assetKeys: null,
      scheduleSlug: schedule.slug,
      start,
      end,
      partitions: schedule.partitions,
      selection,
      singleRun: false,
      checksOnly: false,
      maxConcurrent: request.maxConcurrent,
      parameters,
      partitionCount: keys.length,
    },
    keys,
  );
}
