import type { CollisionStrategy, Deployment, ResourceRequest } from '@outpost/sdk/contracts';
import type postgres from 'postgres';
import { RUNS_CHANNEL } from '../../db/channels.js';
import type { Db } from '../../db/client.js';
import type { deployments, Row } from '../../db/schema.js';
import { iso, jsonb, textArray } from '../../db/values.js';

interface DeploymentRow
  extends Pick<
    Row<typeof deployments>,
    | 'id'
    | 'flow_id'
    | 'name'
    | 'description'
    | 'source'
    | 'entrypoint'
    | 'parameter_schema'
    | 'parameters'
    | 'work_pool_id'
    | 'work_queue_id'
    | 'tags'
    | 'labels'
    | 'job_variables'
    | 'resources'
    | 'retries'
    | 'retry_delay_seconds'
    | 'retry_backoff'
    | 'retry_jitter'
    | 'concurrency_limit'
    | 'collision_strategy'
    | 'paused'
    | 'version_id'
    | 'created_at'
    | 'updated_at'
  > {
  flow_name: string;
  pool_name: string;
  queue_name: string;
  signature: string | null;
}

/** A deployment plus the ids a run of it needs. */
export interface DeploymentRecord {
  deployment: Deployment;
  workPoolId: string;
  workQueueId: string;
}

function toRecord(row: DeploymentRow): DeploymentRecord {
  return {
    workPoolId: row.work_pool_id,
    workQueueId: row.work_queue_id,
    deployment: {
      id: row.id,
      flowId: row.flow_id,
      flowName: row.flow_name,
      name: row.name,
      description: row.description,
      source: row.source,
      entrypoint: row.entrypoint,
      parameterSchema: row.parameter_schema as Deployment['parameterSchema'],
      parameters: row.parameters as Deployment['parameters'],
      workPool: row.pool_name,
      workQueue: row.queue_name,
      tags: row.tags,
      labels: row.labels,
      jobVariables: row.job_variables as Deployment['jobVariables'],
      resources: row.resources,
      retries: row.retries,
      retryDelaySeconds: row.retry_delay_seconds,
      retryBackoff: row.retry_backoff,
      retryJitter: row.retry_jitter,
      concurrencyLimit: row.concurrency_limit,
      collisionStrategy: row.collision_strategy,
      paused: row.paused,
      versionId: row.version_id,
      signature: row.signature,
      createdAt: iso(row.created_at),
      updatedAt: iso(row.updated_at),
    },
  };
}

function deploymentSelect(db: Db): postgres.PendingQuery<postgres.Row[]> {
  return db`
    SELECT d.*, f.name AS flow_name, p.name AS pool_name, q.name AS queue_name, v.signature
    FROM deployments d
    LEFT JOIN deployment_versions v ON v.id = d.version_id
    JOIN flows f ON f.id = d.flow_id
    JOIN work_pools p ON p.id = d.work_pool_id
    JOIN work_queues q ON q.id = d.work_queue_id`;
}

export async function getDeployment(db: Db, workspaceId: string, id: string): Promise<DeploymentRecord | null> {
  const [row] = await db<DeploymentRow[]>`${deploymentSelect(db)} WHERE d.workspace_id = ${workspaceId} AND d.id = ${id}`;
  return row ? toRecord(row) : null;
}

export async function getDeploymentByName(
  db: Db,
  workspaceId: string,
  flow: string,
  name: string,
): Promise<DeploymentRecord | null> {
  const [row] = await db<DeploymentRow[]>`
    ${deploymentSelect(db)} WHERE d.workspace_id = ${workspaceId} AND f.name = ${flow} AND d.name = ${name}`;
  return row ? toRecord(row) : null;
}

/** By (flow name, deployment name), after the cursor's pair. */
export async function listDeployments(
  db: Db,
  workspaceId: string,
  filter: { flow?: string; after: [string, string] | null },
  limit: number,
): Promise<Deployment[]> {
  const rows = await db<DeploymentRow[]>`
    ${deploymentSelect(db)}
    WHERE d.workspace_id = ${workspaceId}
      ${filter.flow ? db`AND f.name = ${filter.flow}` : db``}
      ${filter.after ? db`AND (f.name, d.name) > (${filter.after[0]}::text, ${filter.after[1]}::text)` : db``}
    ORDER BY f.name, d.name
    LIMIT ${limit}`;
  return rows.map((r) => toRecord(r).deployment);
}

export interface DeploymentUpsert {
  workspaceId: string;
  flowId: string;
  name: string;
  description: string | null;
  source: string;
  entrypoint: string;
  parameterSchema: Record<string, unknown> | null;
  parameters: Record<string, unknown>;
  workPoolId: string;
  workQueueId: string;
  tags: string[];
  labels: Record<string, string>;
  jobVariables: Record<string, unknown>;
  /** What each run asks of its worker; null for nothing. */
  resources: ResourceRequest | null;
  /** The customer's signature of the version (a compact JWS); null when unsigned. */
  signature: string | null;
  retries: number;
  retryDelaySeconds: number;
  retryBackoff: number;
  retryJitter: number;
  concurrencyLimit: number | null;
  collisionStrategy: CollisionStrategy;
}

/** PUT semantics: every field is replaced (omitted ones take their defaults) except `paused`. */
export async function upsertDeployment(db: Db, d: DeploymentUpsert): Promise<{ id: string; created: boolean }> {
  // The version first (found or added): the deployment then points at it in the same upsert.
  // A signed version's identity is its content's hash and its signature (migration 0053).
  const [version] = await db<{ id: string }[]>`
    INSERT INTO deployment_versions (workspace_id, content_hash, source, entrypoint, parameter_schema, job_variables, source_digest, signature)
    SELECT ${d.workspaceId},
           CASE WHEN v.signature IS NULL
                THEN deployment_content_hash(v.source, v.entrypoint, v.parameter_schema, v.job_variables)
                ELSE encode(sha256(convert_to(deployment_content_hash(v.source, v.entrypoint, v.parameter_schema, v.job_variables)
                                              || ':' || v.signature, 'UTF8')), 'hex') END,
           v.source, v.entrypoint, v.parameter_schema, v.job_variables, deployment_source_digest(v.source), v.signature
    FROM (SELECT ${d.source}::text AS source, ${d.entrypoint}::text AS entrypoint,
                 ${jsonb(db, d.parameterSchema)}::jsonb AS parameter_schema,
                 ${db.json(d.jobVariables as postgres.JSONValue)}::jsonb AS job_variables,
                 ${d.signature}::text AS signature) v
    ON CONFLICT (workspace_id, content_hash) DO UPDATE SET content_hash = excluded.content_hash
    RETURNING id`;
  if (!version) throw new Error('version upsert returned no row');
  const [row] = await db<{ id: string; created: boolean }[]>`
    INSERT INTO deployments (workspace_id, flow_id, name, description, source, entrypoint, parameter_schema, parameters,
                             work_pool_id, work_queue_id, tags, labels, job_variables, retries, retry_delay_seconds,
                             retry_backoff, retry_jitter, concurrency_limit, collision_strategy, version_id, resources)
    VALUES (${d.workspaceId}, ${d.flowId}, ${d.name}, ${d.description}, ${d.source}, ${d.entrypoint}, ${jsonb(db, d.parameterSchema)},
            ${db.json(d.parameters as postgres.JSONValue)}, ${d.workPoolId}, ${d.workQueueId}, ${textArray(db, d.tags)}::text[],
            ${db.json(d.labels)}, ${db.json(d.jobVariables as postgres.JSONValue)}, ${d.retries}, ${d.retryDelaySeconds},
            ${d.retryBackoff}, ${d.retryJitter}, ${d.concurrencyLimit}::int, ${d.collisionStrategy}, ${version.id},
            ${jsonb(db, d.resources)})
    ON CONFLICT (flow_id, name) DO UPDATE SET
      description = excluded.description, source = excluded.source, entrypoint = excluded.entrypoint,
      parameter_schema = excluded.parameter_schema, parameters = excluded.parameters,
      work_pool_id = excluded.work_pool_id, work_queue_id = excluded.work_queue_id, tags = excluded.tags,
      labels = excluded.labels, job_variables = excluded.job_variables, retries = excluded.retries,
      retry_delay_seconds = excluded.retry_delay_seconds, retry_backoff = excluded.retry_backoff,
      retry_jitter = excluded.retry_jitter, concurrency_limit = excluded.concurrency_limit,
      collision_strategy = excluded.collision_strategy, version_id = excluded.version_id,
      resources = excluded.resources, updated_at = now()
    RETURNING id, (xmax = 0) AS created`;
  if (!row) throw new Error('upsert returned no row');
  // A raised or removed concurrency limit may free waiting runs: waiting claims of the pool look again.
  await db`SELECT pg_notify(${RUNS_CHANNEL}, ${d.workPoolId})`;
  return row;
}

/**
 * Sets a deployment's concurrency limit (null removes it) and collision strategy, each when given.
 * A raised or removed limit may free waiting runs, so the pool's waiting claims look again. False
 * when there is no such deployment.
 */
export async function updateDeploymentLimits(
  db: Db,
  workspaceId: string,
  id: string,
  change: { concurrencyLimit?: number | null; collisionStrategy?: CollisionStrategy },
): Promise<boolean> {
  const [row] = await db<{ work_pool_id: string }[]>`
    UPDATE deployments SET
      concurrency_limit = ${change.concurrencyLimit === undefined ? db`concurrency_limit` : db`${change.concurrencyLimit}::int`},
      collision_strategy = ${change.collisionStrategy === undefined ? db`collision_strategy` : db`${change.collisionStrategy}`},
      updated_at = now()
    WHERE workspace_id = ${workspaceId} AND id = ${id}
    RETURNING work_pool_id`;
  if (!row) return false;
  await db`SELECT pg_notify(${RUNS_CHANNEL}, ${row.work_pool_id})`;
  return true;
}
