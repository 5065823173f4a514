import type { FlowRunCreateRequest, JsonObject, PartitionsDefinition } from '@outpost/sdk/contracts';
import type { TxSql } from '../db/client.js';
import { DomainError } from '../domain-error.js';
import { createFlowRunId } from '../runs/create-flow-run.js';
import {
  allCompleted,
  countRunsInFlight,
  hasRequeued,
  insertPartitions,
  type ReachedPartition,
  requeuedPartitions,
  updateRequeuedPartition,
} from './db/backfill-partitions.js';
import { type BackfillRecord, lockRunningBackfill, saveProgress, setBackfillStatus } from './db/backfills.js';
import { type UnitRun, unitRun } from './units.js';

/** The most partitions one pass reaches per backfill (runs created plus partitions found blocked): short transactions. */
export const MAX_UNITS_PER_PASS = 200;

/**
 * What a backfill needs for one pass besides its row: its unit keys (cached by the caller) and, for
 * an asset backfill, what blocks a partition and what a new run marks (asset-backfill.ts).
 */
export interface PassContext {
  /** Every unit key of the backfill, in order (units.ts `selectionKeys`). */
  keys(b: BackfillRecord): string[];
  /**
   * Read once per pass: a function telling why a partition must not be run (a failed, unwaived
   * blocking check upstream), or null. Absent, nothing is blocked.
   */
  blockedCheck?(tx: TxSql, b: BackfillRecord): Promise<(partitionKey: string | null) => string | null>;
  /** After each run is created, in the same transaction, with the partitions it covers. */
  runCreated?(tx: TxSql, b: BackfillRecord, flowRunId: string, partitionKeys: readonly string[]): Promise<void>;
}

export interface PassResult {
  /** Runs created. */
  created: number;
  /** Partitions found blocked (recorded, not run). */
  blocked: number;
  /** The backfill finished in this pass (COMPLETED or FAILED). */
  finished: boolean;
}

const NOTHING: PassResult = { created: 0, blocked: 0, finished: false };

/** `2025-06-01T11:00:00.000Z` → `20250601T110000Z`; other keys with every unsafe character made `-`. */
function compactKey(key: string): string {
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(key)) return `${key.slice(0, 19).replace(/[-:]/g, '')}Z`;
  return key.replace(/[^A-Za-z0-9._-]+/g, '-');
}

interface Schedule {
  id: string;
  parameters: JsonObject;
}

/** The schedule a deployment backfill fills, as it is now (a redeploy may have changed or removed it). */
async function scheduleOf(tx: TxSql, b: BackfillRecord): Promise<Schedule | null> {
  if (b.schedule_slug === null) return null;
  const [row] = await tx<Schedule[]>`
    SELECT id, parameters FROM deployment_schedules WHERE deployment_id = ${b.deployment_id} AND slug = ${b.schedule_slug}`;
  return row ?? null;
}

/** The request for the run of one partition (or, for a single run, of the whole range). */
function runRequest(
  b: BackfillRecord,
  schedule: Schedule | null,
  unit: { key: string; run: UnitRun } | { range: { start: string; end: string } },
  name: string,
  dueNow: Date,
): FlowRunCreateRequest {
  const scheduledTime = ('run' in unit ? unit.run.scheduledTime : null) ?? dueNow;
  if (b.target === 'assets') {
    const assets = b.asset_keys ?? [];
    return 'range' in unit
      ? {
          name,
          scheduledTime: scheduledTime.toISOString(),
          parameters: { assets, checksOnly: b.checks_only, partition: null, partitionRange: unit.range },
        }
      : {
          name,
          scheduledTime: scheduledTime.toISOString(),
          parameters: { assets, checksOnly: b.checks_only, partition: unit.run.partitionKey, partitionRange: null },
          ...(unit.run.partitionKey === null ? {} : { partitionKey: unit.run.partitionKey }),
        };
  }
  if ('range' in unit) throw new Error('a deployment backfill has no single run over a range');
  return {
    name,
    parameters: { ...(schedule?.parameters ?? {}), ...(b.parameters as JsonObject) },
    ...(unit.run.partitionKey === null ? {} : { partitionKey: unit.run.partitionKey }),
    scheduledTime: scheduledTime.toISOString(),
  };
}

/**
 * One pass over one backfill, inside the caller's transaction: with the backfill's row locked
 * (FOR UPDATE SKIP LOCKED: a pass another replica runs, or a control under way, makes this one do
 * nothing), it counts the runs in flight and creates as many as `max_concurrent` leaves room for —
 * re-queued partitions first, then the next units after the cursor — each through the run-creation
 * service (createFlowRunId: the same checks and insert, without reading each run back, which kept a
 * pass at ~1 ms a run however many runs the backfill already had), with its partition row, and moves
 * the cursor. All of it commits together or not at all:
 * a control plane killed mid-pass loses nothing and, when it comes back, creates nothing twice (and
 * each run's idempotency key `backfill:<id>:<key>[:<n>]` would refuse a second one anyway).
 *
 * With nothing left to create and nothing in flight, the backfill finishes: COMPLETED when every
 * partition completed, FAILED otherwise. A run that cannot be created for a reason a person must fix
 * (the deployment is gone, the parameters no longer pass its schema) fails the backfill with it.
 */
export async function advanceBackfill(tx: TxSql, id: string, ctx: PassContext): Promise<PassResult> {
  const b = await lockRunningBackfill(tx, id);
  if (!b) return NOTHING;
  const inFlight = await countRunsInFlight(tx, b.id);
  let room = b.max_concurrent - inFlight;
  let position = b.position;
  let created = 0;
  let blocked = 0;
  const schedule = b.target === 'deployment' ? await scheduleOf(tx, b) : null;
  const def = b.partitions as PartitionsDefinition | null;
  // Fresh partitions reached in this pass, written in one statement at its end.
  const reached: ReachedPartition[] = [];

  const blockedBy = room > 0 && ctx.blockedCheck ? await ctx.blockedCheck(tx, b) : () => null;
  // Runs of one pass are due a millisecond apart, before the transaction's now: claimed in the backfill's order.
  const [clock] = room > 0 ? await tx<{ now: Date }[]>`SELECT now()::timestamptz(3) AS now` : [];
  let due = (clock?.now.getTime() ?? 0) - MAX_UNITS_PER_PASS - 1;

  const create = async (
    unit: { key: string; run: UnitRun } | { range: { start: string; end: string } },
    ordinalKey: string,
    n: number,
    partitionKeys: readonly string[],
  ): Promise<string> => {
    const name = `${b.target === 'assets' ? 'assets' : 'backfill'}-${compactKey(ordinalKey)}`.slice(0, 200);
    const result = await createFlowRunId(tx, {
      workspaceId: b.workspace_id,
      deploymentId: b.deployment_id,
      request: runRequest(b, schedule, unit, name, new Date(due++)),
      idempotencyKey: `backfill:${b.id}:${ordinalKey}${n > 1 ? `:${n}` : ''}`,
      backfill: { backfillId: b.id, scheduleId: schedule?.id ?? null },
    });
    created++;
    await ctx.runCreated?.(tx, b, result.id, partitionKeys);
    return result.id;
  };

  try {
    if (room > 0) {
      // Partitions retry-failed re-queued come first: they are the oldest work.
      for (const row of await requeuedPartitions(tx, b.id, Math.min(room, MAX_UNITS_PER_PASS))) {
        const run = unitRun(b.selection, def, row.partition_key);
        const reason = blockedBy(run.partitionKey);
        const reached: ReachedPartition = reason
          ? { ordinal: row.ordinal, key: row.partition_key, flowRunId: null, status: 'BLOCKED', message: reason }
          : {
              ordinal: row.ordinal,
              key: row.partition_key,
              flowRunId: await create({ key: row.partition_key, run }, row.partition_key, row.runs + 1, [row.partition_key]),
              status: 'PENDING',
              message: null,
            };
        if (reason) blocked++;
        else room--;
        await updateRequeuedPartition(tx, b.id, reached);
      }
    }
    if (room > 0 && position < b.partition_count) {
      const keys = ctx.keys(b);
      if (b.single_run) {
        const first = keys[0];
        const last = keys.at(-1);
        if (first === undefined || last === undefined) throw new Error(`backfill ${b.id} covers no partition`);
        // One run for the range, or none when any of its partitions is blocked (the run could not materialise it).
        const reason = keys.map((key) => blockedBy(key)).find((r) => r !== null) ?? null;
        const flowRunId = reason ? null : await create({ range: { start: first, end: last } }, `${first}..${last}`, 1, keys);
        if (reason) blocked += keys.length;
        reached.push(
          ...keys.map(
            (key, ordinal): ReachedPartition => ({
              ordinal,
              key,
              flowRunId,
              status: reason ? 'BLOCKED' : 'PENDING',
              message: reason,
            }),
          ),
        );
        position = keys.length;
      } else {
        while (room > 0 && position < keys.length && reached.length < MAX_UNITS_PER_PASS) {
          const key = keys[position] as string;
          const run = unitRun(b.selection, def, key);
          const reason = blockedBy(run.partitionKey);
          if (reason) {
            reached.push({ ordinal: position, key, flowRunId: null, status: 'BLOCKED', message: reason });
            blocked++;
          } else {
            const flowRunId = await create({ key, run }, key, 1, run.partitionKey === null ? [] : [run.partitionKey]);
            reached.push({ ordinal: position, key, flowRunId, status: 'PENDING', message: null });
            room--;
          }
          position++;
        }
      }
    }
  } catch (error) {
    if (!(error instanceof DomainError) || (error.code !== 'not_found' && error.code !== 'validation_failed')) throw error;
    // Checked before anything was written for this run, so the transaction is still usable: the
    // runs created before it are kept with their partitions, and the backfill stops with the reason.
    const detail = error.errors?.length ? `${error.detail}: ${error.errors.map((e) => e.message).join('; ')}` : error.detail;
    await insertPartitions(tx, b.workspace_id, b.id, reached);
    await saveProgress(tx, b.id, position, created);
    await setBackfillStatus(tx, b.id, { status: 'FAILED', message: `cannot create a run: ${detail}` });
    return { created, blocked, finished: true };
  }

  await insertPartitions(tx, b.workspace_id, b.id, reached);
  if (position !== b.position || created > 0) await saveProgress(tx, b.id, position, created);
  if (created === 0 && inFlight === 0 && position >= b.partition_count && !(await hasRequeued(tx, b.id))) {
    await setBackfillStatus(tx, b.id, { status: (await allCompleted(tx, b.id)) ? 'COMPLETED' : 'FAILED' });
    return { created, blocked, finished: true };
  }
  return { created, blocked, finished: false };
}
