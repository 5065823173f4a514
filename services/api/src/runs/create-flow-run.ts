import { randomBytes } from 'node:crypto';
import {
  ASSET_FLOW_NAME,
  type FlowRunCreateRequest,
  type FlowRunCreateResponse,
  type PartitionsDefinition,
} from '@outpost/sdk/contracts';
import { dynamicPartitionNames, hasPartitionKey } from '@outpost/sdk/partitions';
import { assertAssetRunPartition } from '../assets/run-partition.js';
import type { Db } from '../db/client.js';
import { type DeploymentRecord, getDeployment } from '../deployments/db/deployments.js';
import { DomainError, notFound } from '../domain-error.js';
import type { InlineAudit } from '../http/audit.js';
import { getQueue } from '../pools/db/pools.js';
import {
  findRunByIdempotencyKey,
  getFlowRunByIdempotencyKey,
  insertFlowRun,
  insertFlowRunAnswered,
  type NewFlowRun,
} from './db/flow-runs.js';
import { assertKnownParameters, assertParameters } from './parameter-schema.js';

const MAX_TAGS = 50;

const ADJECTIVES = [
  'amber',
  'brisk',
  'calm',
  'deft',
  'eager',
  'fond',
  'gentle',
  'hardy',
  'keen',
  'lucid',
  'merry',
  'nimble',
  'placid',
  'quick',
  'rapid',
  'steady',
  'tidy',
  'vivid',
  'witty',
  'zesty',
];
const ANIMALS = [
  'badger',
  'crane',
  'dingo',
  'egret',
  'ferret',
  'gecko',
  'heron',
  'ibis',
  'jackal',
  'koala',
  'lemur',
  'marten',
  'newt',
  'otter',
  'puffin',
  'quail',
  'raven',
  'stoat',
  'tapir',
  'wombat',
];

export function runName(): string {
  const [a = 0, b = 0] = randomBytes(2);
  return `${ADJECTIVES[a % ADJECTIVES.length]}-${ANIMALS[b % ANIMALS.length]}-${randomBytes(2).toString('hex')}`;
}

/**
 * A run's partition key, when its deployment's schedules name partitions definitions, must be a key
 * of one of them (a time window that has closed, a listed static key). Dynamic sets are not checked.
 */
async function assertScheduledPartition(db: Db, deploymentId: string, key: string): Promise<void> {
  const defs = await db<{ partitions: PartitionsDefinition }[]>`
    SELECT partitions FROM deployment_schedules WHERE deployment_id = ${deploymentId} AND partitions IS NOT NULL`;
  if (defs.length === 0) return;
  if (defs.some((d) => dynamicPartitionNames(d.partitions).length > 0 || hasPartitionKey(d.partitions, key))) return;
  throw new DomainError('validation_failed', 'the request body is invalid', {
    errors: [{ path: 'body.partitionKey', message: `"${key}" is not a partition key of the deployment's schedules` }],
  });
}

/** What a backfill adds to the runs it creates. */
export interface BackfillOrigin {
  backfillId: string;
  /** The schedule whose times or partitions the backfill fills. */
  scheduleId: string | null;
}

export interface FlowRunInput {
  workspaceId: string;
  deploymentId: string;
  request: FlowRunCreateRequest;
  idempotencyKey: string | null;
  backfill?: BackfillOrigin;
  /** The running flow that starts this run (`runDeployment`). */
  parentFlowRunId?: string;
  /** The automations whose actions create this run, oldest first. */
  causation?: { chain: string[] };
  /**
   * Refuse request parameters the deployment's schema does not declare: for parameters a caller
   * typed now (the run routes, `runDeployment`), not ones stored earlier in automations.
   */
  refuseUnknownParameters?: boolean;
  /**
   * The call's audit entry, written by the run's insert when it creates the run (one commit for
   * both); a replay or a refusal leaves it to the audit middleware. Its result ids are those of the
   * answer (`{ flowRun, created }`).
   */
  audit?: InlineAudit | null;
}

/**
 * A run of a deployment: the deployment's default parameters under the request's, checked against
 * its parameter schema, in the deployment's queue unless the request names another of its pool.
 * An Idempotency-Key already used for this deployment returns the run it created, `created: false`.
 * `sql` may be a transaction: a backfill creates a run and records it in one.
 */
export async function createFlowRun(sql: Db, input: FlowRunInput): Promise<FlowRunCreateResponse> {
  const { workspaceId, idempotencyKey } = input;
  const record = await getDeployment(sql, workspaceId, input.deploymentId);
  if (!record) throw notFound('deployment');

  const existing = async (): Promise<FlowRunCreateResponse | null> => {
    if (idempotencyKey === null) return null;
    const flowRun = await getFlowRunByIdempotencyKey(sql, workspaceId, record.deployment.id, idempotencyKey);
    return flowRun ? { flowRun, created: false } : null;
  };
  const earlier = await existing();
  if (earlier) return earlier;

  const run = await checkedRun(sql, input, record);
  // Answered from the insert's RETURNING: the run as getFlowRun would read it, with no read-back.
  const audit = input.audit ?? null;
  const inserted = await insertFlowRunAnswered(sql, run, audit ? { entry: audit.entry, resultKey: 'flowRun' } : null);
  if (inserted === null) {
    // A concurrent request with the same key won the insert.
    const raced = await existing();
    if (raced) return raced;
    throw new DomainError('conflict', 'a run with this Idempotency-Key is being created; retry');
  }
  if (audit && inserted.auditResultIds) audit.written(inserted.auditResultIds);
  return { flowRun: inserted.flowRun, created: true };
}

/**
 * The same run with the same checks, for a caller that needs only its id (a backfill's pass, which
 * creates many in one transaction): the key is not looked up first, since the insert refuses a key
 * already used, and the run is not read back. An Idempotency-Key already used gives that run's id,
 * `created: false`.
 */
export async function createFlowRunId(sql: Db, input: FlowRunInput): Promise<{ id: string; created: boolean }> {
  const record = await getDeployment(sql, input.workspaceId, input.deploymentId);
  if (!record) throw notFound('deployment');
  const id = await insertFlowRun(sql, await checkedRun(sql, input, record));
  if (id !== null) return { id, created: true };
  const earlier =
    input.idempotencyKey === null
      ? null
      : await findRunByIdempotencyKey(sql, input.workspaceId, record.deployment.id, input.idempotencyKey);
  if (earlier === null) throw new DomainError('conflict', 'a run with this Idempotency-Key is being created; retry');
  return { id: earlier, created: false };
}

/** The run the request makes of the deployment, checked against it (the insert's input). */
async function checkedRun(sql: Db, input: FlowRunInput, record: DeploymentRecord): Promise<NewFlowRun> {
  const { workspaceId, request, idempotencyKey } = input;
  const { deployment } = record;
  let workQueueId = record.workQueueId;
  if (request.workQueue !== undefined) {
    const queue = await getQueue(sql, workspaceId, record.workPoolId, request.workQueue);
    if (!queue) throw notFound(`work queue "${request.workQueue}" in work pool "${deployment.workPool}"`);
    workQueueId = queue.id;
  }
  const parameters = { ...deployment.parameters, ...(request.parameters ?? {}) };
  if (deployment.parameterSchema && input.refuseUnknownParameters && request.parameters) {
    assertKnownParameters(deployment.parameterSchema, request.parameters, 'body.parameters');
  }
  if (deployment.parameterSchema) assertParameters(deployment.parameterSchema, parameters, 'body.parameters');
  // A backfill checked its partitions when it was created.
  if (request.partitionKey !== undefined && !input.backfill) {
    if (deployment.flowName === ASSET_FLOW_NAME) {
      await assertAssetRunPartition(sql, {
        workspaceId,
        deploymentId: deployment.id,
        parameters,
        partitionKey: request.partitionKey,
        path: 'body.partitionKey',
      });
    } else await assertScheduledPartition(sql, deployment.id, request.partitionKey);
  }
  const tags = [...new Set([...deployment.tags, ...(request.tags ?? [])])];
  if (tags.length > MAX_TAGS) {
    throw new DomainError('validation_failed', 'too many tags', {
      errors: [{ path: 'body.tags', message: `a run has at most ${MAX_TAGS} tags, its deployment's included` }],
    });
  }
  return {
    workspaceId,
    flowId: deployment.flowId,
    deploymentId: deployment.id,
    workPoolId: record.workPoolId,
    workQueueId,
    name: request.name ?? runName(),
    parameters,
    tags,
    labels: deployment.labels,
    maxRetries: deployment.retries,
    retryDelaySeconds: deployment.retryDelaySeconds,
    scheduledTime: request.scheduledTime ? new Date(request.scheduledTime) : null,
    idempotencyKey,
    partitionKey: request.partitionKey ?? null,
    resources: request.resources ?? null,
    backfillId: input.backfill?.backfillId ?? null,
    scheduleId: input.backfill?.scheduleId ?? null,
    parentFlowRunId: input.parentFlowRunId ?? null,
    causation: input.causation ?? null,
  };
}
