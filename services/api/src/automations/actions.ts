import { randomUUID } from 'node:crypto';
import type { FlowRunCreateRequest, OutpostEvent, ProposedState } from '@outpost/sdk/contracts';
import type { SandboxResult } from '../cel/sandbox.js';
import type { TxSql } from '../db/client.js';
import { getDeploymentByName } from '../deployments/db/deployments.js';
import { DomainError } from '../domain-error.js';
import { enqueueNotification } from '../notifications/enqueue.js';
import { updatePool } from '../pools/db/pools.js';
import { quotaExceeded, workspaceQuotas } from '../quotas/quotas.js';
import { automationRunsLastMinute } from '../quotas/usage.js';
import { createFlowRun } from '../runs/create-flow-run.js';
import { proposeInTransaction } from '../runs/db/propose-state.js';
import { setDeploymentPaused, setScheduleActive } from '../runs/db/schedules.js';
import type { CompiledAction } from './compile.js';

/** An action's failure as the firing records it: one line a user reads. */
export class ActionFailure extends Error {}

export interface ActionContext {
  workspaceId: string;
  automationId: string;
  /** The deployment that owns the automation, for actions that name none. */
  deploymentId: string | null;
  firingId: string;
  firingKey: string;
  variables: { event: OutpostEvent | null; events: OutpostEvent[]; automation: { id: string; name: string } };
  /** The actions' templates, rendered in the CEL sandbox, by `<action index>.<field>`. */
  rendered: ReadonlyMap<string, SandboxResult>;
  /** The automations that caused this firing, this one last: stamped on the runs its actions create or change. */
  chain: string[];
}

/** The one line a user reads for an action that threw: a domain error with its field errors, or the message. */
export function failureMessage(error: unknown): string {
  if (error instanceof DomainError) {
    const fields = (error.errors ?? []).map((e) => `${e.path.replace(/^body\./, '')}: ${e.message}`).join('; ');
    return fields ? `${error.detail}: ${fields}` : error.detail;
  }
  return error instanceof Error ? error.message : String(error);
}

function render(action: CompiledAction, field: string, ctx: ActionContext): unknown {
  if (action.templates[field] === undefined) return undefined;
  const result = ctx.rendered.get(`${action.index}.${field}`);
  if (!result) throw new ActionFailure(`the ${field} template was not rendered`);
  if (!result.ok) throw new ActionFailure(`the ${field} template failed: ${result.message}`);
  return result.value;
}

async function deploymentId(tx: TxSql, ctx: ActionContext, ref: string | undefined): Promise<string> {
  if (ref === undefined) {
    if (ctx.deploymentId === null) throw new ActionFailure('name a deployment: this automation belongs to none');
    return ctx.deploymentId;
  }
  const [flow = '', name = ''] = ref.split('/');
  const record = await getDeploymentByName(tx, ctx.workspaceId, flow, name);
  if (!record) throw new ActionFailure(`deployment "${ref}" not found`);
  return record.deployment.id;
}

/** The run an action works on: its `run` template's value, else the event's flow run (its resource or a related one). */
function runId(action: CompiledAction, ctx: ActionContext): string {
  const given = render(action, 'run', ctx);
  if (given !== undefined) {
    if (typeof given !== 'string' || given === '') throw new ActionFailure('the run template gave no run id');
    return given;
  }
  const event = ctx.variables.event;
  if (event?.resource.kind === 'flow-run') return event.resource.id;
  const related = event?.related.find((r) => r.kind === 'flow-run');
  if (related) return related.id;
  throw new ActionFailure('the event names no flow run; give the action a run');
}

async function propose(tx: TxSql, ctx: ActionContext, id: string, state: ProposedState): Promise<string[]> {
  if (!/^[0-9a-f-]{36}$/i.test(id)) throw new ActionFailure(`"${id}" is not a flow run id`);
  // Stamped first, so the event of this change carries the chain (a refused change rolls it back with the savepoint).
  await tx`UPDATE flow_runs SET causation = ${tx.json({ chain: ctx.chain })} WHERE workspace_id = ${ctx.workspaceId} AND id = ${id}`;
  const answer = await proposeInTransaction(tx, {
    workspaceId: ctx.workspaceId,
    runId: id,
    transitionId: randomUUID(),
    state,
    attempt: null,
    actor: 'user',
  });
  if (answer.status !== 'ACCEPT') {
    throw new ActionFailure(`the run is ${answer.state.type}: ${answer.reason ?? 'the change was refused'}`);
  }
  return [id];
}

/**
 * Applies one action's database effects in the caller's transaction (a savepoint of the firing's)
 * and returns the ids it created or changed. Throws for a failure the firing records.
 */
export async function runAction(tx: TxSql, action: CompiledAction, ctx: ActionContext): Promise<string[]> {
  const a = action.action;
  switch (a.type) {
    case 'run-deployment': {
      const target = await deploymentId(tx, ctx, a.deployment);
      const parameters = render(action, 'parameters', ctx);
      await assertRunsQuota(tx, ctx.workspaceId);
      const created = await createFlowRun(tx, {
        workspaceId: ctx.workspaceId,
        deploymentId: target,
        request: {
          ...(parameters !== undefined ? { parameters: parameters as FlowRunCreateRequest['parameters'] } : {}),
          ...(a.tags ? { tags: a.tags } : {}),
        },
        // A round redone after a crash (or by another replica) finds this run and creates none.
        idempotencyKey: `automation:${ctx.automationId}:${ctx.firingKey}`,
        causation: { chain: ctx.chain },
      });
      return [created.flowRun.id];
    }
    case 'cancel-run':
      return propose(tx, ctx, runId(action, ctx), { type: 'CANCELLING', message: 'Cancelled by an automation' });
    case 'pause-run':
      // The state rules hold only a run nobody has claimed (SCHEDULED) and say why otherwise.
      return propose(tx, ctx, runId(action, ctx), { type: 'PAUSED', name: 'Paused', message: 'Held by an automation' });
    case 'resume-run':
      return propose(tx, ctx, runId(action, ctx), { type: 'SCHEDULED', message: 'Released by an automation' });
    case 'pause-deployment':
    case 'resume-deployment': {
      const target = await deploymentId(tx, ctx, a.deployment);
      await setDeploymentPaused(tx, ctx.workspaceId, target, a.type === 'pause-deployment');
      return [target];
    }
    case 'pause-schedule':
    case 'resume-schedule': {
      const target = await deploymentId(tx, ctx, a.deployment);
      const schedule = await setScheduleActive(tx, ctx.workspaceId, target, a.schedule, a.type === 'resume-schedule');
      if (!schedule) throw new ActionFailure(`schedule "${a.schedule}" not found`);
      return [schedule.id];
    }
    case 'pause-pool':
    case 'resume-pool': {
      const pool = await updatePool(tx, ctx.workspaceId, a.pool, { paused: a.type === 'pause-pool' });
      if (!pool) throw new ActionFailure(`work pool "${a.pool}" not found`);
      return [pool.id];
    }
    case 'notify':
      return notify(tx, action, ctx);
  }
}

/** Refuses a run past the workspace's quota of runs its automations may create a minute. */
async function assertRunsQuota(tx: TxSql, workspaceId: string): Promise<void> {
  const { automationRunsPerMinute: limit } = await workspaceQuotas(tx, workspaceId);
  if ((await automationRunsLastMinute(tx, workspaceId, limit)) >= limit) {
    throw quotaExceeded(
      'automationRunsPerMinute',
      limit,
      "the workspace's automations created that many runs in the last minute",
      60,
    );
  }
}

/** Puts the notification in the outbox in this transaction; the notifications loop delivers it after the commit. */
async function notify(tx: TxSql, action: CompiledAction, ctx: ActionContext): Promise<string[]> {
  if (action.action.type !== 'notify') return [];
  const event = ctx.variables.event;
  if (!event) throw new ActionFailure('a notification needs an event, and this firing has none');
  const text = (field: string): string | undefined => {
    const value = render(action, field, ctx);
    return value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value);
  };
  const delivery = await enqueueNotification(tx, {
    workspaceId: ctx.workspaceId,
    channel: action.action.channel,
    automationId: ctx.automationId,
    automationName: ctx.variables.automation.name,
    firingId: ctx.firingId,
    idempotencyKey: `automation:${ctx.automationId}:${ctx.firingKey}:${action.index}`,
    subject: text('subject'),
    body: text('body'),
    event,
  });
  return [delivery];
}
