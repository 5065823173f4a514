import { ASSET_FLOW_NAME, type DeploymentUpsertRequest, Name } from '@outpost/sdk/contracts';
import { DeploymentSignatureError, deploymentStatement, readDeploymentSignature, statementMismatch } from '@outpost/sdk/signing';
import { z } from 'zod';
import { checkAssetInputs, registerDeploymentAssets } from '../assets/deploy-assets.js';
import { assertPartitionsWithinQuota } from '../assets/partition-limits.js';
import { applyDeploymentTriggers, assertDeploymentTriggers } from '../automations/deployment-triggers.js';
import { ApiError, notFound } from '../errors.js';
import { decodeCursor, pageOf } from '../http/pagination.js';
import type { Handlers } from '../http/route-types.js';
import { getPoolByName, getQueue } from '../pools/db/pools.js';
import { createFlowRun } from '../runs/create-flow-run.js';
import { ensureFlow } from '../runs/db/flows.js';
import { applyDeploymentSchedules } from '../runs/db/schedules.js';
import { assertParameterSchema, withPropertyOrder } from '../runs/parameter-schema.js';
import { registerDeploymentSensors } from '../sensors/db/sensors.js';
import {
  getDeployment,
  getDeploymentByName,
  listDeployments,
  updateDeploymentLimits,
  upsertDeployment,
} from './db/deployments.js';
import { prepareSchedules } from './schedule-handlers.js';

const DeploymentCursor = z.tuple([Name, Name]);
const IdempotencyKey = z.string().min(1).max(200);
/** The scheduler's, backfills', sensors' and parent runs' keys: a manual run must not take (or, when its schedule goes, lose) one of their slots. */
const RESERVED_KEY = /^(scheduled|backfill|sensor|parent):/;

/** A deployment's sensors are told apart by name: one defined twice is a mistake in its code. */
function checkSensorNames(names: string[]): void {
  const index = names.findIndex((name, i) => names.indexOf(name) !== i);
  if (index === -1) return;
  throw new ApiError('validation_failed', `the sensor "${names[index]}" is defined twice`, {
    errors: [{ path: `body.sensors.${index}.name`, message: 'sensor names must be unique within a deployment' }],
  });
}

/**
 * A signature must sign the request it came with. The API holds no key and cannot tell a forgery
 * (workers can); this catches a signature made for another deployment, pool or build at deploy time,
 * rather than as a refused run later.
 */
function checkSignature(body: DeploymentUpsertRequest): void {
  if (body.signature === undefined) return;
  let problem: string | null;
  try {
    const { statement } = readDeploymentSignature(body.signature);
    const mismatch = statementMismatch(statement, deploymentStatement({ ...body, deployment: body.name }));
    problem = mismatch ? `signs another ${mismatch} than this request's` : null;
  } catch (error) {
    if (!(error instanceof DeploymentSignatureError)) throw error;
    problem = error.message;
  }
  if (problem === null) return;
  throw new ApiError('validation_failed', `the deployment signature ${problem}`, {
    errors: [{ path: 'body.signature', message: problem }],
  });
}

export const deploymentHandlers = {
  deploymentsUpsert: async ({ body, principal, deps }) => {
    const workspaceId = principal.workspaceId;
    checkSignature(body);
    if (body.parameterSchema) assertParameterSchema(body.parameterSchema, 'body.parameterSchema');
    const schedules = prepareSchedules(body);
    if (body.assets !== undefined) {
      if (body.flowName !== ASSET_FLOW_NAME) {
        throw new ApiError('validation_failed', `only a deployment of the "${ASSET_FLOW_NAME}" flow defines assets`, {
          errors: [{ path: 'body.assets', message: `the flow is "${body.flowName}", not "${ASSET_FLOW_NAME}"` }],
        });
      }
      checkAssetInputs(body.assets, 'body.assets');
    }
    // After the definitions are known to be valid: each is counted (by arithmetic) against the partitions quota.
    await assertPartitionsWithinQuota(deps.sql, workspaceId, [
      ...(body.assets ?? []).flatMap((a, i) =>
        a.partitions ? [{ def: a.partitions, path: `body.assets.${i}.partitions` }] : [],
      ),
      ...(schedules ?? []).flatMap((s, i) =>
        s.partitions ? [{ def: s.partitions, path: `body.schedules.${i}.partitions` }] : [],
      ),
    ]);
    if (body.triggers !== undefined) assertDeploymentTriggers(body.triggers);
    if (body.sensors !== undefined) checkSensorNames(body.sensors.map((s) => s.name));
    const result = await deps.sql.begin(async (tx) => {
      const pool = await getPoolByName(tx, workspaceId, body.workPool);
      if (!pool) throw notFound(`work pool "${body.workPool}"`);
      const queueName = body.workQueue ?? 'default';
      const queue = await getQueue(tx, workspaceId, pool.id, queueName);
      if (!queue) throw notFound(`work queue "${queueName}" in work pool "${body.workPool}"`);
      const flowId = await ensureFlow(tx, workspaceId, body.flowName);
      const upserted = await upsertDeployment(tx, {
        workspaceId,
        flowId,
        name: body.name,
        description: body.description ?? null,
        source: body.source,
        entrypoint: body.entrypoint,
        parameterSchema: body.parameterSchema ? withPropertyOrder(body.parameterSchema) : null,
        parameters: body.parameters ?? {},
        workPoolId: pool.id,
        workQueueId: queue.id,
        tags: [...new Set(body.tags ?? [])],
        labels: body.labels ?? {},
        jobVariables: body.jobVariables ?? {},
        resources: body.resources ?? null,
        signature: body.signature ?? null,
        retries: body.retries ?? 0,
        retryDelaySeconds: body.retryDelaySeconds ?? 0,
        retryBackoff: body.retryBackoff ?? 1,
        retryJitter: body.retryJitter ?? 0,
        concurrencyLimit: body.concurrencyLimit ?? null,
        collisionStrategy: body.collisionStrategy ?? 'ENQUEUE',
      });
      await applyDeploymentSchedules(tx, { workspaceId, deploymentId: upserted.id, schedules });
      if (body.assets !== undefined) {
        await registerDeploymentAssets(tx, { workspaceId, deploymentId: upserted.id, assets: body.assets, path: 'body.assets' });
      }
      if (body.triggers !== undefined) {
        await applyDeploymentTriggers(tx, { workspaceId, deploymentId: upserted.id, triggers: body.triggers });
      }
      if (body.sensors !== undefined) {
        await registerDeploymentSensors(tx, { workspaceId, deploymentId: upserted.id, sensors: body.sensors });
      }
      return upserted;
    });
    const record = await getDeployment(deps.sql, workspaceId, result.id);
    if (!record) throw new Error(`deployment ${result.id} vanished after the upsert`);
    return { deployment: record.deployment, created: result.created };
  },

  deploymentsList: async ({ query, principal, deps }) => {
    const after = decodeCursor(query.cursor, DeploymentCursor);
    const rows = await listDeployments(deps.sql, principal.workspaceId, { flow: query.flow, after }, query.limit + 1);
    const { page: items, nextCursor } = pageOf(rows, query.limit, (last) => [last.flowName, last.name]);
    return { items, nextCursor };
  },

  deploymentsGet: async ({ params, principal, deps }) => {
    const record = await getDeployment(deps.sql, principal.workspaceId, params.id);
    if (!record) throw notFound('deployment');
    return record.deployment;
  },

  deploymentsGetByName: async ({ params, principal, deps }) => {
    const record = await getDeploymentByName(deps.sql, principal.workspaceId, params.flow, params.name);
    if (!record) throw notFound('deployment');
    return record.deployment;
  },

  deploymentsUpdate: async ({ params, body, principal, deps }) => {
    const found = await updateDeploymentLimits(deps.sql, principal.workspaceId, params.id, body);
    const record = found ? await getDeployment(deps.sql, principal.workspaceId, params.id) : null;
    if (!record) throw notFound('deployment');
    return record.deployment;
  },

  deploymentsCreateRun: async ({ params, body, principal, deps, header, status, auditInStatement }) => {
    const rawKey = header('idempotency-key');
    let idempotencyKey: string | null = null;
    if (rawKey !== undefined) {
      const parsed = IdempotencyKey.safeParse(rawKey);
      if (!parsed.success) {
        throw new ApiError('validation_failed', 'the Idempotency-Key header is invalid', {
          errors: [{ path: 'headers.idempotency-key', message: 'must be 1 to 200 characters' }],
        });
      }
      if (RESERVED_KEY.test(parsed.data)) {
        throw new ApiError('validation_failed', 'the Idempotency-Key header is invalid', {
          errors: [
            {
              path: 'headers.idempotency-key',
              message:
                'keys starting "scheduled:", "backfill:" or "sensor:" are reserved for runs of schedules, backfills and sensors',
            },
          ],
        });
      }
      idempotencyKey = parsed.data;
    }
    const result = await createFlowRun(deps.sql, {
      workspaceId: principal.workspaceId,
      deploymentId: params.id,
      request: body,
      idempotencyKey,
      refuseUnknownParameters: true,
      audit: auditInStatement(),
    });
    if (!result.created) status(200);
    return result;
  },
} satisfies Pick<
  Handlers,
  | 'deploymentsUpsert'
  | 'deploymentsList'
  | 'deploymentsGet'
  | 'deploymentsGetByName'
  | 'deploymentsUpdate'
  | 'deploymentsCreateRun'
>;
