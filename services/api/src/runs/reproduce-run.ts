import type { FlowRunCreateResponse, ResourceRequest } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { runName } from './create-flow-run.js';
import { getFlowRun, insertFlowRun } from './db/flow-runs.js';

interface OriginalRun {
  flow_id: string;
  deployment_id: string | null;
  deployment_version_id: string | null;
  work_pool_id: string | null;
  work_queue_id: string | null;
  parameters: Record<string, unknown>;
  tags: string[];
  labels: Record<string, string>;
  max_retries: number;
  retry_delay_seconds: number;
  partition_key: string | null;
  resources: ResourceRequest | null;
}

/**
 * A new run from a run's manifest: the same deployment version (its pinned code, entrypoint,
 * parameter schema and job variables, whatever the deployment runs now), the same parameters as
 * the original ran with (not merged with the deployment's current defaults), tags, partition,
 * worker labels, pool and queue. It records the original (`reproduced_from_id`), which lists it among
 * its reproductions. Every request creates a new run.
 */
export async function reproduceRun(
  sql: Db,
  input: { workspaceId: string; runId: string; name?: string | undefined },
): Promise<FlowRunCreateResponse> {
  const { workspaceId, runId } = input;
  const [original] = await sql<OriginalRun[]>`
    SELECT flow_id, deployment_id, deployment_version_id, work_pool_id, work_queue_id, parameters, tags, labels,
           max_retries, retry_delay_seconds, partition_key, resources
    FROM flow_runs WHERE workspace_id = ${workspaceId} AND id = ${runId}`;
  if (!original) throw notFound('flow run');
  const {
    deployment_id: deploymentId,
    deployment_version_id: versionId,
    work_pool_id: poolId,
    work_queue_id: queueId,
  } = original;
  if (deploymentId === null || versionId === null || poolId === null || queueId === null) {
    throw new DomainError(
      'conflict',
      'only a run of a deployment can be reproduced; this run ran inside its parent flow (a subflow) or without a deployment',
    );
  }
  const id = await insertFlowRun(sql, {
    workspaceId,
    flowId: original.flow_id,
    deploymentId,
    workPoolId: poolId,
    workQueueId: queueId,
    name: input.name ?? runName(),
    parameters: original.parameters,
    tags: original.tags,
    labels: original.labels,
    maxRetries: original.max_retries,
    retryDelaySeconds: original.retry_delay_seconds,
    scheduledTime: null,
    idempotencyKey: null,
    partitionKey: original.partition_key,
    deploymentVersionId: versionId,
    reproducedFromId: runId,
    // The resources the original asked for, not what the deployment asks for now.
    ...(original.resources ? { resources: original.resources, resourcesExact: true } : {}),
  });
  if (id === null) throw new Error('a run without an idempotency key was not inserted');
  const flowRun = await getFlowRun(sql, workspaceId, id);
  if (!flowRun) throw new Error(`flow run ${id} vanished after it was created`);
  return { flowRun, created: true };
}
