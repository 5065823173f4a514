import { randomUUID } from 'node:crypto';
import type { JsonObject } from '../contracts/common.js';
import type { ProposedState } from '../contracts/states.js';
import type { RunInfo, RunScope } from './context.js';
import { type FlowDefinition, proposeUntilDecided, runBody, type Settled, terminalState } from './engine.js';
import { describeError, toError } from './errors.js';
import { log } from './logger.js';
import type { Reporter } from './reporter.js';
import { callSlot, TaskRunRecord } from './task-run.js';

/**
 * Subflow parameters are recorded with the child run only when they are small JSON: values passed
 * in-process can be whole datasets, which have no place on the control plane.
 */
const MAX_RECORDED_PARAMETER_CHARS = 16 * 1024;

function recordedParameters(raw: unknown): JsonObject {
  if (raw === undefined || raw === null) return {};
  try {
    const text = JSON.stringify(raw);
    if (text === undefined || text.length > MAX_RECORDED_PARAMETER_CHARS) return {};
    const value = JSON.parse(text) as unknown;
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as JsonObject) : {};
  } catch {
    return {};
  }
}

/**
 * A flow called inside a running flow. Under the worker it becomes a flow run of its own — created
 * RUNNING by the worker, linked to its parent run and to a task run of the parent that stands for
 * the call — with its own task runs, logs, artifacts and final state, all reported through the
 * parent's channel. Run locally, or when the child run cannot be created, it runs inline.
 */
export async function runSubflow(def: FlowDefinition, rawParams: unknown, parent: RunScope): Promise<unknown> {
  const slot = callSlot(parent, def.name);
  const callId = randomUUID();
  const call = new TaskRunRecord(parent.reporter, callId);
  call.create({ id: callId, name: def.name, ...slot }, { type: 'RUNNING' });
  const child = await createChild(def.name, rawParams, parent.reporter, call.recorded ? callId : undefined);

  let settled: Settled;
  let terminal: ProposedState;
  if (child === null) {
    settled = await runBody(def, rawParams, { ...parent, flowName: def.name });
    terminal = terminalState(settled, parent.signal);
  } else {
    const reporter = parent.reporter.forChildRun(child.id);
    // Its own id and name, no deployment; the parent's attempt, due time, schedule, tags and partition.
    const { attempt, scheduledTime, scheduleId, tags, partitionKey } = parent.run;
    settled = await runBody(def, rawParams, {
      reporter,
      run: { ...child, attempt, deploymentId: null, deploymentName: null, scheduledTime, scheduleId, tags, partitionKey },
      flowName: def.name,
      signal: parent.signal,
      taskCalls: new Map(),
    });
    terminal = terminalState(settled, parent.signal);
    await finishChild(reporter, terminal, def.name);
  }
  call.set(1, terminal.type === 'COMPLETED' ? { type: 'COMPLETED', data: child ? { flowRunId: child.id } : null } : terminal);
  if (!settled.ok) throw settled.thrown;
  return settled.result;
}

async function createChild(
  flowName: string,
  rawParams: unknown,
  reporter: Reporter,
  parentTaskRunId: string | undefined,
): Promise<RunInfo | null> {
  try {
    return await reporter.createChildRun({
      id: randomUUID(),
      flowName,
      parameters: recordedParameters(rawParams),
      ...(parentTaskRunId ? { parentTaskRunId } : {}),
    });
  } catch (error) {
    log.warning(
      `subflow '${flowName}' could not be recorded as a run of its own; running it inline: ${describeError(toError(error))}`,
    );
    return null;
  }
}

/** The child's terminal state; a child someone moved to CANCELLING can only end CANCELLED. */
async function finishChild(reporter: Reporter, terminal: ProposedState, flowName: string): Promise<void> {
  try {
    const judged = await proposeUntilDecided(reporter, terminal);
    if (judged.status === 'REJECT' && judged.stateType === 'CANCELLING' && terminal.type !== 'CANCELLED') {
      await proposeUntilDecided(reporter, { type: 'CANCELLED', message: 'cancelled' });
    }
  } catch (error) {
    log.warning(`the final state of subflow '${flowName}' could not be recorded: ${describeError(toError(error))}`);
  }
}
