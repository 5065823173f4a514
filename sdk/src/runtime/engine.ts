import { MAX_STATE_MESSAGE_LENGTH } from '../contracts/limits.js';
import type { ProposedState, StateType } from '../contracts/states.js';
import { currentScope, type FlowContext, type RunInfo, type RunScope, toRunContext, withRunScope } from './context.js';
import { RunDurability } from './durable.js';
import { describeError, FlowCancelledError, FlowTimeoutError, ParameterValidationError, toError } from './errors.js';
import { captureConsole, log } from './logger.js';
import { type ParamsSchema, validateParameters } from './params.js';
import type { ProposalOutcome, Reporter } from './reporter.js';
import { deadline, raceAbort, sleep } from './timers.js';

/** A flow as the engine runs it, with its options resolved. */
export interface FlowDefinition {
  name: string;
  params: ParamsSchema;
  timeoutSeconds: number | undefined;
  fn: (params: Record<string, unknown>, ctx: FlowContext) => unknown;
  onCompletion: ((result: unknown, ctx: FlowContext) => unknown) | undefined;
  onFailure: ((error: Error, ctx: FlowContext) => unknown) | undefined;
  /** Store the return value of a completed worker run (`flow({ persistResult })`). @default false */
  persistResult?: boolean | undefined;
}

/** How a run ended, with the state type the control plane settled on. */
export type FlowOutcome =
  | { kind: 'completed'; result: unknown; stateType: StateType }
  | { kind: 'failed'; error: Error; thrown: unknown; stateType: StateType }
  | { kind: 'not-run'; reason: string | null; stateType: StateType };

export type Settled = { ok: true; result: unknown } | { ok: false; error: Error; thrown: unknown };

/** Propose until the answer is not WAIT, waiting as told between proposals (abortable by `signal`). */
export async function proposeUntilDecided(
  reporter: Reporter,
  state: ProposedState,
  signal?: AbortSignal,
): Promise<ProposalOutcome> {
  for (;;) {
    const outcome = await reporter.proposeState(state);
    if (outcome.status !== 'WAIT') return outcome;
    const seconds = outcome.waitSeconds ?? 1;
    const message = `${state.type} deferred for ${seconds}s${outcome.reason ? `: ${outcome.reason}` : ''}`;
    reporter.log({ level: 'info', message, timestamp: new Date() });
    await sleep(seconds * 1000, signal);
  }
}

/**
 * One flow run from start to finish: propose RUNNING (a refusal means the body never runs),
 * validate parameters, run the body and its hooks, propose the terminal state. `cancel` aborts the
 * flow's signal; a run that fails after a cancel is proposed CANCELLED.
 */
export async function runFlowRun(
  def: FlowDefinition,
  rawParams: unknown,
  options: { reporter: Reporter; run: RunInfo; cancel?: AbortSignal },
): Promise<FlowOutcome> {
  const { reporter, run, cancel } = options;
  const cancelled = cancel ?? new AbortController().signal;
  let settled: Settled;
  try {
    const running = await proposeUntilDecided(reporter, { type: 'RUNNING' }, cancelled);
    if (running.status !== 'ACCEPT') return { kind: 'not-run', reason: running.reason, stateType: running.stateType };
    const restoreConsole = reporter.capturesConsole ? captureConsole(reporter) : () => {};
    try {
      const durable = reporter.waits ? new RunDurability(reporter.waits, run.id) : undefined;
      // An attempt after a suspension first learns what the earlier ones completed; without that it
      // would run those tasks again, so not knowing fails the attempt.
      // Logged through the run's reporter: no run scope is open yet, and the scope-less logger would
      // print a terminal line (`[flow] info …`) that the captured console then ships as a second level.
      const say = (level: 'info' | 'error', message: string) =>
        reporter.log({ level, message, timestamp: new Date(), flowName: def.name });
      const replayProblem = durable
        ? await durable.loadReplay(run.attempt).then((learnt) => {
            if (learnt > 0) say('info', `resuming: ${learnt} completed task(s) will be answered from their recorded results`);
            return null;
          }, toError)
        : null;
      settled = replayProblem
        ? replayFailure(replayProblem, say)
        : await runBody(def, rawParams, { reporter, run, flowName: def.name, signal: cancelled, taskCalls: new Map(), durable });
    } finally {
      restoreConsole();
    }
  } catch (thrown) {
    if (!cancelled.aborted) throw thrown;
    settled = { ok: false, error: toError(thrown), thrown };
  }

  const data = settled.ok && def.persistResult ? await persistResult(reporter, run, settled.result) : null;
  const terminal = terminalState(settled, cancelled, data);
  const judged = await proposeUntilDecided(reporter, terminal);
  return settled.ok
    ? { kind: 'completed', result: settled.result, stateType: judged.stateType }
    : { kind: 'failed', error: settled.error, thrown: settled.thrown, stateType: judged.stateType };
}

function replayFailure(cause: Error, say: (level: 'error', message: string) => void): Settled {
  const error = new Error(`could not read what earlier attempts of this run completed: ${describeError(cause)}`, { cause });
  say('error', error.message);
  return { ok: false, error, thrown: error };
}

/**
 * Writes a completed run's result to the result storage and answers the state data that points at
 * it; null when there is nothing to store or it could not be stored. A result that cannot be stored
 * never fails the run: the run did its work, and only `.result()` of whoever started it is affected.
 */
async function persistResult(reporter: Reporter, run: RunInfo, value: unknown): Promise<{ resultRef: string } | null> {
  if (value === undefined || !reporter.persistResult) return null;
  try {
    return { resultRef: await reporter.persistResult(run.id, value) };
  } catch (error) {
    const message = `the flow's result was not stored, so runDeployment(...).result() cannot read it: ${describeError(toError(error))}`;
    reporter.log({ level: 'warning', message, timestamp: new Date(), flowName: run.flowName });
    return null;
  }
}

export function terminalState(
  settled: Settled,
  cancelled: AbortSignal,
  data: { resultRef: string } | null = null,
): ProposedState {
  // Results stay in the customer's network; `data` carries only a reference to where one is stored.
  if (settled.ok) return { type: 'COMPLETED', data };
  const reason: unknown = cancelled.reason;
  const message = cancelled.aborted && reason instanceof FlowCancelledError ? reason.reason : describeError(settled.error);
  return { type: cancelled.aborted ? 'CANCELLED' : 'FAILED', message: message.slice(0, MAX_STATE_MESSAGE_LENGTH) };
}

export function activeRunScope(): RunScope | undefined {
  return currentScope().run;
}

/** Parameters, body and hooks inside the run's scope; never throws. */
export async function runBody(def: FlowDefinition, rawParams: unknown, outer: Omit<RunScope, 'context'>): Promise<Settled> {
  const limit = deadline(def.timeoutSeconds, () => new FlowTimeoutError(def.name, def.timeoutSeconds ?? 0));
  const signal = AbortSignal.any([outer.signal, limit.signal]);
  const context = toRunContext(outer.run, def.name);
  const scope: RunScope = { ...outer, signal, context };
  const ctx: FlowContext = Object.freeze({ ...context, signal });
  return withRunScope(scope, async (): Promise<Settled> => {
    try {
      const params = await validateParameters(def.name, def.params, rawParams);
      const result = await raceAbort((async () => await def.fn(params, ctx))(), signal);
      await runHook('onCompletion', () => def.onCompletion?.(result, ctx));
      return { ok: true, result };
    } catch (thrown) {
      const error = toError(thrown);
      const detail = error instanceof ParameterValidationError ? describeError(error) : (error.stack ?? describeError(error));
      log.error(`flow '${def.name}' failed: ${detail}`);
      await runHook('onFailure', () => def.onFailure?.(error, ctx));
      return { ok: false, error, thrown };
    } finally {
      limit.clear();
    }
  });
}

/** A hook that throws is logged; it never changes how the run ended. */
async function runHook(name: string, hook: () => unknown): Promise<void> {
  try {
    await hook();
  } catch (thrown) {
    const error = toError(thrown);
    log.error(`${name} hook failed: ${error.stack ?? describeError(error)}`);
  }
}
