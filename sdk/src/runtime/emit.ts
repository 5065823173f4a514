import type { EventResource } from '../contracts/event-ledger.js';
import { MAX_EVENT_PAYLOAD_BYTES } from '../contracts/limits.js';
import { currentScope } from './context.js';
import { lazy } from './lazy.js';
import { localReporter } from './reporter-local.js';

const eventLedger = lazy(() => import('../contracts/event-ledger.js'));

export interface EmitOptions {
  /** What the event is about. @default the flow run that emits it */
  resource?: EventResource;
  /** Other resources it concerns (a model, a dataset); the run's flow and deployment are added. @default [] */
  related?: EventResource[];
  /** A stable id makes a repeated emit (a retried task) record the event once. @default a random id */
  id?: string;
}

/**
 * Records a custom event in the workspace's event ledger, e.g. `await emit('model.metrics', { auc })`:
 * automations, deployment triggers and waiting flows can act on it. Under a worker the event goes
 * through the worker, which redacts every secret value it knows from the payload before it leaves
 * the network; run locally it is printed. The payload is small facts (at most 16 KiB as JSON),
 * never data. Answers the event's id.
 */
export async function emit(kind: string, payload: Record<string, unknown> = {}, options: EmitOptions = {}): Promise<string> {
  const candidate = {
    kind,
    payload: JSON.parse(JSON.stringify(payload)) as Record<string, unknown>,
    ...(options.resource ? { resource: options.resource } : {}),
    ...(options.related ? { related: options.related } : {}),
    ...(options.id ? { id: options.id } : {}),
  };
  // Checked here, so a mistake fails in the flow with the field that is wrong.
  const { EventEmitRequest } = await eventLedger();
  const checked = EventEmitRequest.safeParse(candidate);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    const where = issue?.path.join('.') || 'event';
    const limit = where === 'payload' ? ` (${MAX_EVENT_PAYLOAD_BYTES} bytes)` : '';
    throw new TypeError(`emit('${kind}'): ${where}: ${issue?.message ?? 'invalid'}${limit}`);
  }
  const reporter = currentScope().run?.reporter ?? localReporter;
  return reporter.emitEvent(checked.data);
}
