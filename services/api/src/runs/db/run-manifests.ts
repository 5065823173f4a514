import type {
  AttemptEnvironmentReport,
  FlowRunManifest,
  ManifestAttempt,
  ManifestInputAsset,
  StateType,
} from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import { iso } from '../../db/values.js';

/*
 * A run's manifest: what it ran (its pinned deployment version), with what (parameters, job
 * variables by reference), where (each attempt's worker and environment) and on which inputs (the
 * upstream asset versions of what it materialised). Read from rows the run already has; nothing is
 * copied when the run is created.
 */

interface ManifestRunRow {
  id: string;
  name: string;
  flow_name: string;
  deployment_name: string | null;
  deployment_id: string | null;
  deployment_version_id: string | null;
  source: string | null;
  source_digest: string | null;
  entrypoint: string | null;
  job_variables: Record<string, unknown> | null;
  parameters: Record<string, unknown>;
  tags: string[];
  partition_key: string | null;
  pool_name: string | null;
  queue_name: string | null;
  labels: Record<string, string>;
  start_time: Date | null;
  reproduced_from_id: string | null;
  reproduced_from_name: string | null;
}

interface ManifestAttemptRow {
  attempt: number;
  worker_name: string | null;
  worker_version: string | null;
  executor: string | null;
  node_version: string | null;
  image: string | null;
  image_digest: string | null;
  source_digest: string | null;
  assigned: unknown;
  claimed_at: Date;
  state_type: StateType | null;
  state_name: string | null;
}

/** The secret names a job-variables document references (`{ "$secret": "NAME" }` anywhere in it). */
export function secretNamesOf(value: unknown, into = new Set<string>()): string[] {
  if (Array.isArray(value)) {
    for (const item of value) secretNamesOf(item, into);
  } else if (value !== null && typeof value === 'object') {
    const ref = (value as { $secret?: unknown }).$secret;
    if (typeof ref === 'string') into.add(ref);
    else for (const item of Object.values(value)) secretNamesOf(item, into);
  }
  return [...into].sort();
}

async function manifestAttempts(db: Db, workspaceId: string, runId: string): Promise<ManifestAttempt[]> {
  const rows = await db<ManifestAttemptRow[]>`
    SELECT a.attempt, a.worker_name, a.worker_version, a.executor, a.node_version, a.image, a.image_digest,
           a.source_digest, a.claimed_at, a.state_type, a.state_name,
           a.assigned_resources AS assigned
    FROM flow_run_attempts a
    WHERE a.workspace_id = ${workspaceId} AND a.flow_run_id = ${runId}
    ORDER BY a.attempt`;
  return rows.map((r) => ({
    attempt: r.attempt,
    workerName: r.worker_name,
    workerVersion: r.worker_version,
    executor: r.executor,
    nodeVersion: r.node_version,
    image: r.image,
    imageDigest: r.image_digest,
    sourceDigest: r.source_digest,
    assigned: (r.assigned ?? null) as ManifestAttempt['assigned'],
    claimedAt: iso(r.claimed_at),
    state: r.state_type && r.state_name ? { type: r.state_type, name: r.state_name } : null,
  }));
}

/**
 * For each upstream asset of what the run materialised, the latest materialisation written before
 * the run started (by another run), preferring the run's own partition: the data the run read.
 */
async function inputAssets(db: Db, workspaceId: string, run: ManifestRunRow): Promise<ManifestInputAsset[]> {
  if (run.start_time === null) return [];
  const rows = await db<
    {
      asset_key: string;
      partition_key: string | null;
      data_version: string | null;
      code_version: string;
      flow_run_id: string;
      created_at: Date;
    }[]
  >`
    WITH written AS (
      SELECT DISTINCT asset_key FROM asset_materializations WHERE workspace_id = ${workspaceId} AND flow_run_id = ${run.id}
    ), upstream AS (
      SELECT DISTINCT unnest(d.deps) AS asset_key
      FROM asset_definitions d JOIN written w ON w.asset_key = d.key
      WHERE d.workspace_id = ${workspaceId}
    )
    SELECT DISTINCT ON (m.asset_key) m.asset_key, m.partition_key, m.data_version, m.code_version, m.flow_run_id, m.created_at
    FROM asset_materializations m JOIN upstream u ON u.asset_key = m.asset_key
    WHERE m.workspace_id = ${workspaceId} AND m.created_at <= ${run.start_time} AND m.flow_run_id <> ${run.id}
    ORDER BY m.asset_key, (m.partition_key IS NOT DISTINCT FROM ${run.partition_key}) DESC, m.seq DESC`;
  return rows.map((r) => ({
    assetKey: r.asset_key,
    partitionKey: r.partition_key,
    dataVersion: r.data_version,
    codeVersion: r.code_version,
    flowRunId: r.flow_run_id,
    materializedAt: iso(r.created_at),
  }));
}

/** The run's manifest, or null when the workspace has no such run. */
export async function getRunManifest(db: Db, workspaceId: string, runId: string): Promise<FlowRunManifest | null> {
  const [run] = await db<ManifestRunRow[]>`
    SELECT r.id, r.name, f.name AS flow_name, d.name AS deployment_name, r.deployment_id, r.deployment_version_id,
           v.source, v.source_digest, v.entrypoint, v.job_variables, r.parameters, r.tags, r.partition_key,
           p.name AS pool_name, q.name AS queue_name, r.labels, r.start_time,
           r.reproduced_from_id, o.name AS reproduced_from_name
    FROM flow_runs r
    JOIN flows f ON f.id = r.flow_id
    LEFT JOIN deployments d ON d.id = r.deployment_id
    LEFT JOIN deployment_versions v ON v.id = r.deployment_version_id
    LEFT JOIN work_pools p ON p.id = r.work_pool_id
    LEFT JOIN work_queues q ON q.id = r.work_queue_id
    LEFT JOIN flow_runs o ON o.id = r.reproduced_from_id AND o.workspace_id = r.workspace_id
    WHERE r.workspace_id = ${workspaceId} AND r.id = ${runId}`;
  if (!run) return null;
  const reproducedBy = await db<{ id: string; name: string; created_at: Date }[]>`
    SELECT id, name, created_at FROM flow_runs
    WHERE workspace_id = ${workspaceId} AND reproduced_from_id = ${runId}
    ORDER BY created_at, id
    LIMIT 100`;
  const jobVariables = (run.job_variables ?? {}) as FlowRunManifest['jobVariables'];
  return {
    flowRunId: run.id,
    flowRunName: run.name,
    flowName: run.flow_name,
    deployment: run.deployment_name === null ? null : `${run.flow_name}/${run.deployment_name}`,
    deploymentId: run.deployment_id,
    deploymentVersionId: run.deployment_version_id,
    source: run.source,
    codeDigest: run.source_digest,
    entrypoint: run.entrypoint,
    parameters: run.parameters as FlowRunManifest['parameters'],
    jobVariables,
    secretNames: secretNamesOf(jobVariables),
    tags: run.tags,
    partitionKey: run.partition_key,
    workPool: run.pool_name,
    workQueue: run.queue_name,
    labels: run.labels,
    attempts: await manifestAttempts(db, workspaceId, runId),
    inputAssets: await inputAssets(db, workspaceId, run),
    reproducedFrom:
      run.reproduced_from_id && run.reproduced_from_name ? { id: run.reproduced_from_id, name: run.reproduced_from_name } : null,
    reproducedBy: reproducedBy.map((r) => ({ id: r.id, name: r.name, createdAt: iso(r.created_at) })),
  };
}

/**
 * Stores where an attempt runs. `apiKeyId` (a worker key) must be the key the attempt was claimed
 * with; a run token was already checked to hold the attempt. False when there is no such attempt
 * (or it is another key's).
 */
export async function recordAttemptEnvironment(
  db: Db,
  input: { workspaceId: string; runId: string; attempt: number; apiKeyId: string | null; report: AttemptEnvironmentReport },
): Promise<boolean> {
  const { report } = input;
  const rows = await db`
    UPDATE flow_run_attempts
    SET worker_version = ${report.workerVersion}, executor = ${report.executor}, node_version = ${report.nodeVersion},
        image = ${report.image}, image_digest = ${report.imageDigest}, environment_reported_at = now()
    WHERE workspace_id = ${input.workspaceId} AND flow_run_id = ${input.runId} AND attempt = ${input.attempt}
      ${input.apiKeyId === null ? db`` : db`AND api_key_id = ${input.apiKeyId}`}
    RETURNING attempt`;
  return rows.length > 0;
}
