import type { AssetAutomationEvaluation } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { assetAutomationEvaluations, Row } from '../../db/schema.js';
import { iso } from '../../db/values.js';

/*
 * The asset automation loop's records: its decisions (one row per cause and outcome: the unique
 * evaluation key makes a repeat write nothing), and the freshness each asset last announced.
 */

export interface NewEvaluation {
  workspaceId: string;
  assetKey: string;
  partitionKey: string | null;
  evaluationKey: string;
  reason: AssetAutomationEvaluation['reason'];
  outcome: AssetAutomationEvaluation['outcome'];
  skipReason: AssetAutomationEvaluation['skipReason'];
  message: string;
  flowRunId: string | null;
}

/** Records decisions in one statement; one already recorded under its key stays as it was. Returns how many were new. */
export async function recordEvaluations(db: Db, batch: readonly NewEvaluation[]): Promise<number> {
  if (batch.length === 0) return 0;
  const rows = batch.map((e) => ({
    workspace_id: e.workspaceId,
    asset_key: e.assetKey,
    partition_key: e.partitionKey,
    evaluation_key: e.evaluationKey,
    reason: e.reason,
    outcome: e.outcome,
    skip_reason: e.skipReason,
    message: e.message,
    flow_run_id: e.flowRunId,
  }));
  const inserted = await db`
    INSERT INTO asset_automation_evaluations (workspace_id, asset_key, partition_key, evaluation_key, reason, outcome, skip_reason,
                                              message, flow_run_id)
    SELECT x.workspace_id, x.asset_key, x.partition_key, x.evaluation_key, x.reason, x.outcome, x.skip_reason, x.message, x.flow_run_id
    FROM jsonb_to_recordset(${db.json(rows as never)}::jsonb) AS x(
      workspace_id uuid, asset_key text, partition_key text, evaluation_key text, reason text, outcome text, skip_reason text,
      message text, flow_run_id uuid)
    ON CONFLICT (workspace_id, evaluation_key) DO NOTHING`;
  return inserted.count;
}

/** Which of `keys` are recorded already: a pass skips causes it has decided on before. */
export async function recordedEvaluationKeys(db: Db, workspaceId: string, keys: readonly string[]): Promise<Set<string>> {
  if (keys.length === 0) return new Set();
  const rows = await db<{ evaluation_key: string }[]>`
    SELECT evaluation_key FROM asset_automation_evaluations
    WHERE workspace_id = ${workspaceId} AND evaluation_key = ANY(${db.array([...keys])}::text[])`;
  return new Set(rows.map((r) => r.evaluation_key));
}

type EvaluationRow = Pick<
  Row<typeof assetAutomationEvaluations>,
  'id' | 'asset_key' | 'partition_key' | 'reason' | 'outcome' | 'skip_reason' | 'message' | 'flow_run_id' | 'seq' | 'created_at'
>;

export function toEvaluation(row: EvaluationRow): AssetAutomationEvaluation {
  return {
    id: row.id,
    assetKey: row.asset_key,
    partitionKey: row.partition_key,
    reason: row.reason,
    outcome: row.outcome,
    skipReason: row.skip_reason,
    message: row.message,
    flowRunId: row.flow_run_id,
    createdAt: iso(row.created_at),
  };
}

/** An asset's decisions newest first, before the `seq` of a cursor. */
export async function listEvaluations(
  db: Db,
  workspaceId: string,
  filter: { assetKey: string; before: string | null },
  limit: number,
): Promise<(AssetAutomationEvaluation & { seq: string })[]> {
  const rows = await db<EvaluationRow[]>`
    SELECT id, asset_key, partition_key, reason, outcome, skip_reason, message, flow_run_id, seq, created_at
    FROM asset_automation_evaluations
    WHERE workspace_id = ${workspaceId} AND asset_key = ${filter.assetKey}
      ${filter.before === null ? db`` : db`AND seq < ${filter.before}::int8`}
    ORDER BY seq DESC
    LIMIT ${limit}`;
  return rows.map((row) => ({ ...toEvaluation(row), seq: String(row.seq) }));
}

/**
 * Workspaces with an asset that has an automation or freshness policy, except archived ones: they
 * take no new work, and their freshness is not announced either (no automation of theirs would act
 * on it). Read by every pass, so a restored workspace is back in the next one, which requests what
 * its policies ask for then.
 */
export async function workspacesWithAssetPolicies(db: Db): Promise<string[]> {
  const rows = await db<{ workspace_id: string }[]>`
    SELECT DISTINCT a.workspace_id FROM asset_definitions a
    JOIN workspaces w ON w.id = a.workspace_id
    WHERE (a.automation IS NOT NULL OR a.freshness IS NOT NULL) AND w.archived_at IS NULL`;
  return rows.map((r) => r.workspace_id);
}

export interface FreshnessRecord {
  violated: boolean;
  changes: number;
}

/**
 * The asset's announced freshness, locked until the transaction ends (a replica that also looks
 * waits, then sees the change made here). A first look inserts it as "not violated".
 */
export async function lockFreshness(
  db: Db,
  input: { workspaceId: string; assetKey: string; deadline: Date },
): Promise<FreshnessRecord> {
  await db`
    INSERT INTO asset_freshness (workspace_id, asset_key, violated, deadline)
    VALUES (${input.workspaceId}, ${input.assetKey}, false, ${input.deadline})
    ON CONFLICT (workspace_id, asset_key) DO NOTHING`;
  const [row] = await db<{ violated: boolean; changes: number }[]>`
    SELECT violated, changes FROM asset_freshness
    WHERE workspace_id = ${input.workspaceId} AND asset_key = ${input.assetKey}
    FOR UPDATE`;
  if (!row) throw new Error(`asset_freshness row of ${input.assetKey} vanished`);
  return row;
}

export async function setFreshness(
  db: Db,
  input: { workspaceId: string; assetKey: string; violated: boolean; deadline: Date },
): Promise<number> {
  const [row] = await db<{ changes: number }[]>`
    UPDATE asset_freshness SET violated = ${input.violated}, deadline = ${input.deadline}, changes = changes + 1, changed_at = now()
    WHERE workspace_id = ${input.workspaceId} AND asset_key = ${input.assetKey}
    RETURNING changes`;
  return row?.changes ?? 0;
}

/** The database's clock: only it decides what is due (cron ticks, freshness deadlines). */
export async function databaseNow(db: Db): Promise<Date> {
  const [row] = await db<{ now: Date }[]>`SELECT now() AS now`;
  return row?.now ?? new Date();
}
