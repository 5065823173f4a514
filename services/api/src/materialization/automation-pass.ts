import { createHash } from 'node:crypto';
import { freshnessState, freshnessVerdict } from '../assets/automation/freshness.js';
import { type CatalogState, loadCatalogState } from '../assets/catalog.js';
import {
  databaseNow,
  lockFreshness,
  type NewEvaluation,
  recordEvaluations,
  recordedEvaluationKeys,
  setFreshness,
  workspacesWithAssetPolicies,
} from '../assets/db/asset-automation.js';
import type { AssetNode } from '../assets/db/asset-definitions.js';
import type { Sql } from '../db/client.js';
import { insertEvents } from '../events/db/events.js';
import type { Logger } from '../logger.js';
import { type AutomationCandidate, evaluationKey, planAutomation } from './automation-plan.js';
import { createAssetRun, planAssetSelection } from './materialize.js';

/*
 * One pass of the asset automation: for each workspace with asset policies, load the catalog's
 * facts once, plan (plan.ts), request the runs each in a transaction with its record, record the
 * reasons for what was not requested, and announce freshness changes. A pass does bounded work per
 * workspace: at most `maxRequests` runs and `maxSkipRecords` skip records; the rest waits for the
 * next pass, which comes soon since this one found work.
 */

export interface AutomationPassOptions {
  /** Runs requested per pass in each workspace (so one workspace's thousands of missing partitions starve no other). @default 100 */
  maxRequests?: number;
  /** Skip reasons recorded per pass. @default 1000 */
  maxSkipRecords?: number;
}

export interface AutomationPassResult {
  workspaces: number;
  requested: number;
  skipped: number;
  failed: number;
  freshnessChanges: number;
}

/** A uuid that is the same for the same name: the freshness events' ids (a repeat stores nothing). */
function nameUuid(name: string): string {
  const h = createHash('sha256').update(name).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

function record(workspaceId: string, c: AutomationCandidate, skip: AutomationCandidate['skip']): NewEvaluation {
  return {
    workspaceId,
    assetKey: c.assetKey,
    partitionKey: c.partitionKey,
    evaluationKey: evaluationKey(c, skip?.reason ?? null),
    reason: c.reason,
    outcome: skip ? 'SKIPPED' : 'REQUESTED',
    skipReason: skip?.reason ?? null,
    message: skip ? `${c.message}; not requested: ${skip.message}` : c.message,
    flowRunId: skip ? skip.flowRunId : null,
  };
}

export async function automationPass(
  sql: Sql,
  logger: Logger,
  options: AutomationPassOptions = {},
): Promise<AutomationPassResult> {
  const maxRequests = options.maxRequests ?? 100;
  const maxSkipRecords = options.maxSkipRecords ?? 1_000;
  const result: AutomationPassResult = { workspaces: 0, requested: 0, skipped: 0, failed: 0, freshnessChanges: 0 };
  const now = await databaseNow(sql);
  for (const workspaceId of await workspacesWithAssetPolicies(sql)) {
    result.workspaces++;
    try {
      const loaded = await loadCatalogState(sql, workspaceId, (graph) =>
        [...graph.nodes.values()].filter((n) => n.automation !== null || n.freshness !== null).map((n) => n.key),
      );
      const state: CatalogState = { ...loaded, now };
      await requestRuns(sql, workspaceId, state, result, { maxRequests, maxSkipRecords });
      result.freshnessChanges += await announceFreshness(sql, workspaceId, state);
    } catch (error) {
      logger.error({ err: error, workspaceId }, 'asset automation pass failed for a workspace');
    }
  }
  return result;
}

async function requestRuns(
  sql: Sql,
  workspaceId: string,
  state: CatalogState,
  result: AutomationPassResult,
  limits: { maxRequests: number; maxSkipRecords: number },
): Promise<void> {
  const candidates = planAutomation(state, state.now);
  if (candidates.length === 0) return;
  const keys = candidates.flatMap((c) => [c.causeKey, ...(c.skip ? [evaluationKey(c, c.skip.reason)] : [])]);
  // A cause decided before (its run requested) is done; a skip already recorded is not recorded again.
  const recorded = await recordedEvaluationKeys(sql, workspaceId, keys);
  const skips: NewEvaluation[] = [];
  let requests = 0;
  for (const c of candidates) {
    if (recorded.has(c.causeKey)) continue;
    if (c.skip) {
      if (skips.length < limits.maxSkipRecords && !recorded.has(evaluationKey(c, c.skip.reason))) {
        skips.push(record(workspaceId, c, c.skip));
      }
      continue;
    }
    if (requests >= limits.maxRequests) continue;
    requests++;
    try {
      const requested = await sql.begin(async (tx) => {
        const plan = planAssetSelection(state.graph, { assets: [c.assetKey] });
        const run = await createAssetRun(tx, {
          workspaceId,
          plan,
          checksOnly: false,
          partitionKey: c.partitionKey,
          idempotencyKey: c.causeKey,
        });
        // The same cause found its run already there (a pass redone after its records were lost cannot happen: they commit together; but a person may have used the key).
        await recordEvaluations(tx, [
          run.created
            ? { ...record(workspaceId, c, null), flowRunId: run.flowRunId }
            : record(workspaceId, c, {
                reason: 'already_requested',
                message: `run ${run.flowRunId} was requested for it before`,
                flowRunId: run.flowRunId,
              }),
        ]);
        return run.created;
      });
      if (requested) result.requested++;
      else result.skipped++;
    } catch (error) {
      result.failed++;
      const message = error instanceof Error ? error.message : String(error);
      skips.push(record(workspaceId, c, { reason: 'failed', message, flowRunId: null }));
    }
  }
  result.skipped += await recordEvaluations(sql, skips);
}

/** Announces each asset whose freshness changed since it was last announced; returns how many. */
async function announceFreshness(sql: Sql, workspaceId: string, state: CatalogState): Promise<number> {
  const nodes = [...state.graph.nodes.values()].filter((n): n is AssetNode & { freshness: NonNullable<AssetNode['freshness']> } =>
    Boolean(n.freshness),
  );
  if (nodes.length === 0) return 0;
  const known = new Map(
    (
      await sql<{ asset_key: string; violated: boolean }[]>`
        SELECT asset_key, violated FROM asset_freshness WHERE workspace_id = ${workspaceId}`
    ).map((r) => [r.asset_key, r.violated]),
  );
  let changes = 0;
  for (const node of nodes) {
    const latest = state.book.evaluation(node.key)?.latest?.materializedAt ?? null;
    const verdict = freshnessVerdict(node.freshness, latest, node.createdAt, state.now);
    if ((known.get(node.key) ?? false) === verdict.violated) continue;
    const changed = await sql.begin(async (tx) => {
      const current = await lockFreshness(tx, { workspaceId, assetKey: node.key, deadline: verdict.deadline });
      if (current.violated === verdict.violated) return false;
      const count = await setFreshness(tx, {
        workspaceId,
        assetKey: node.key,
        violated: verdict.violated,
        deadline: verdict.deadline,
      });
      const view = freshnessState(node.freshness, latest, node.createdAt, state.now);
      await insertEvents(tx, [
        {
          workspaceId,
          id: nameUuid(`asset-freshness\u0000${workspaceId}\u0000${node.key}\u0000${count}`),
          kind: verdict.violated ? 'asset.freshness.violated' : 'asset.freshness.restored',
          occurredAt: state.now,
          resource: { kind: 'asset', id: node.key, name: node.key },
          related: [{ kind: 'deployment', id: node.deploymentId, name: node.deploymentName }],
          payload: {
            assetKey: node.key,
            maxLagMinutes: node.freshness.maxLagMinutes,
            cron: node.freshness.cron ?? null,
            deadline: view.deadline,
            lastMaterializedAt: view.lastMaterializedAt,
            overdueMinutes: view.overdueMinutes,
          },
          source: 'system',
        },
      ]);
      return true;
    });
    if (changed) changes++;
  }
  return changes;
}
