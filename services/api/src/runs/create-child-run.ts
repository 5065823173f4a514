import type { FlowRunChildCreateRequest, FlowRunCreateResponse } from '@outpost/sdk/contracts';
import type { Sql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { runName } from './create-flow-run.js';
import { findRunOwner, insertChildRun, lockParentRun, taskRunBelongsTo } from './db/child-runs.js';
import { getFlowRun } from './db/flow-runs.js';
import { ensureFlow } from './db/flows.js';

/**
 * Starts a subflow run under `parentId`: RUNNING at once, with the parent's attempt, worker and
 * lease (it runs in the parent's process; nothing claims it). Idempotent by the client's id: a
 * retry returns the run the first request made, `created: false`. The parent must be RUNNING at
 * the attempt the caller holds; the id must not belong to any other run.
 */
export async function createChildRun(
  sql: Sql,
  input: { workspaceId: string; parentId: string; request: FlowRunChildCreateRequest },
): Promise<FlowRunCreateResponse> {
  const { workspaceId, parentId, request } = input;
  const earlier = async (): Promise<FlowRunCreateResponse | null> => {
    const owner = await findRunOwner(sql, request.id);
    if (!owner) return null;
    // Someone else's id is refused alike whoever owns it, so the answer reveals nothing about the owner.
    if (owner.workspaceId !== workspaceId || owner.parentFlowRunId !== parentId) {
      throw new DomainError('conflict', 'this flow run id is already in use');
    }
    const flowRun = await getFlowRun(sql, workspaceId, request.id);
    return flowRun ? { flowRun, created: false } : null;
  };
  const replay = await earlier();
  if (replay) return replay;

  const created = await sql.begin(async (tx) => {
    const parent = await lockParentRun(tx, workspaceId, parentId);
    if (!parent) throw notFound('flow run');
    if (request.attempt !== parent.attempt)
      throw new DomainError('stale_attempt', `the flow run is at attempt ${parent.attempt}`);
    if (parent.stateType !== 'RUNNING') {
      throw new DomainError('conflict', `the flow run is ${parent.stateType}; only a RUNNING run can start subflows`);
    }
    if (request.parentTaskRunId && !(await taskRunBelongsTo(tx, workspaceId, parentId, request.parentTaskRunId))) {
      throw new DomainError('validation_failed', 'the parent task run is not a task run of this flow run', {
        errors: [{ path: 'body.parentTaskRunId', message: 'not a task run of this flow run' }],
      });
    }
    const flowId = await ensureFlow(tx, workspaceId, request.flowName);
    return insertChildRun(tx, {
      id: request.id,
      workspaceId,
      parent,
      flowId,
      name: request.name ?? runName(),
      parameters: request.parameters ?? {},
      parentTaskRunId: request.parentTaskRunId ?? null,
    });
  });
  if (created === null) {
    // A concurrent request with the same id won the insert.
    const raced = await earlier();
    if (raced) return raced;
    throw new DomainError('conflict', 'this flow run is being created; retry');
  }
  const flowRun = await getFlowRun(sql, workspaceId, created);
  if (!flowRun) throw new Error(`flow run ${created} vanished after it was created`);
  return { flowRun, created: true };
}
