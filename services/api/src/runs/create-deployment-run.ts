import type { DeploymentRunCreateRequest, FlowRunCreateResponse } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { getDeploymentByName } from '../deployments/db/deployments.js';
import { DomainError, notFound } from '../domain-error.js';
import { createFlowRun } from './create-flow-run.js';

/** The idempotency key of a parent run's call: `parent:` keys are refused on the public run route. */
export function parentCallKey(parentId: string, key: string): string {
  return `parent:${parentId}:${key}`;
}

/**
 * A running flow starts a run of a deployment (`runDeployment` in the SDK): a run like any other,
 * queued in its deployment's pool and claimed by that pool's workers, linked to the flow's run as its
 * parent. Idempotent per parent run and call key, so a replay of the flow after a suspension gets the
 * child it started before instead of a second one (`created: false`).
 */
export async function createDeploymentRun(
  sql: Db,
  input: { workspaceId: string; parentId: string; request: DeploymentRunCreateRequest },
): Promise<FlowRunCreateResponse> {
  const { workspaceId, parentId, request } = input;
  const [parent] = await sql<{ state_type: string; root_flow_run_id: string | null }[]>`
    SELECT state_type, root_flow_run_id FROM flow_runs WHERE workspace_id = ${workspaceId} AND id = ${parentId}`;
  if (!parent) throw notFound('flow run');
  if (parent.state_type !== 'RUNNING') {
    throw new DomainError('conflict', `the flow run is ${parent.state_type}; only a RUNNING run can start runs of deployments`);
  }
  const [flow, name] = request.deployment.split('/') as [string, string];
  const record = await getDeploymentByName(sql, workspaceId, flow, name);
  if (!record) {
    throw new DomainError('not_found', `deployment "${request.deployment}" not found`, {
      errors: [{ path: 'body.deployment', message: `no deployment "${request.deployment}" in this workspace` }],
    });
  }
  return createFlowRun(sql, {
    workspaceId,
    deploymentId: record.deployment.id,
    request: {
      ...(request.parameters ? { parameters: request.parameters } : {}),
      ...(request.tags ? { tags: request.tags } : {}),
    },
    idempotencyKey: parentCallKey(parentId, request.key),
    parentFlowRunId: parentId,
    refuseUnknownParameters: true,
  });
}
