import type * as z from 'zod';
import type { JsonObject } from '../contracts/common.js';
import type { OutpostEvent } from '../contracts/event-ledger.js';
import type { ApprovalDecision, SuspendResponse, Wait, WaitCreateRequest, WaitSpec } from '../contracts/waits.js';
import type { Role } from '../contracts/workspaces.js';
import { currentScope } from './context.js';
import { describeError } from './errors.js';
import { lazy } from './lazy.js';
import { log } from './logger.js';
import { toFlowJsonSchema } from './params.js';
import { raceAbort, sleep } from './timers.js';

/** A wait's timeout passed before what it waited for happened. */
export class WaitTimeoutError extends Error {
  override readonly name = 'WaitTimeoutError';
  constructor(
    /** The wait's key in its run (`wait-2`, or the one the flow gave). */
    readonly key: string,
    readonly kind: WaitSpec['kind'],
  ) {
    super(`wait '${key}' (${kind}) timed out`);
  }
}

/** The wait was cancelled with its run: the flow is being stopped. */
export class WaitCancelledError extends Error {
  override readonly name = 'WaitCancelledError';
  constructor(readonly key: string) {
    super(`wait '${key}' was cancelled`);
  }
}

/** How long a wait may stay pending and still hold the flow's process instead of suspending the run. */
export const DEFAULT_WAIT_HOLD_SECONDS = 60;

/** The longest one long-poll of a wait holds (the API's limit). */
const MAX_POLL_SECONDS = 25;

/**
 * How long a wait may stay pending and still hold the process: `OUTPOST_WAIT_HOLD_SECONDS`, else 60.
 * Under a worker the variable is the deployment's `jobVariables.waitHoldSeconds`, set by the worker.
 */
export function holdSeconds(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.OUTPOST_WAIT_HOLD_SECONDS?.trim();
  if (!raw) return DEFAULT_WAIT_HOLD_SECONDS;
  const seconds = Number(raw);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : DEFAULT_WAIT_HOLD_SECONDS;
}

interface CommonOptions {
  /** The wait's name in its run, stable across attempts. @default `wait-<n>`: the run's n-th wait call, in call order */
  key?: string;
}

interface TimeoutOption {
  /** Give up after this many seconds: the call throws `WaitTimeoutError`. @default no timeout (at most 90 days) */
  timeoutSeconds?: number;
}

export interface WaitForOptions extends CommonOptions, TimeoutOption {
  /** The event kind, e.g. `"model.trained"` or `"flow-run.completed"`. */
  event: string;
  /**
   * CEL over `event` and `run` (the waiting run: id, name, parameters, partitionKey), e.g.
   * `event.payload.model == run.parameters.model`. @default any event of the kind
   */
  match?: string;
  /** Events from this time on count, also ones stored before the wait began. @default the run's creation time */
  since?: Date | string;
}

export interface WaitUntilOptions extends CommonOptions {}

// F is bound by zod's core schema type, which every zod 4 schema has: bound by z.ZodType, the checker
// compared each form's class with ZodType member by member, about a second a call (34,203 types
// against 4,647 for a flow with one approval, `tsc --extendedDiagnostics`; ParamsSchema says more).
export interface WaitApprovalOptions<F extends z.core.$ZodType | undefined> extends CommonOptions, TimeoutOption {
  /** What the approver is asked, shown in the approvals inbox and on the run's page. */
  title: string;
  /** @default undefined */
  description?: string;
  /** A zod object schema of the form the approver fills in; the decision's `data` is parsed with it. @default no form */
  form?: F;
  /** Roles that may decide. @default owner, admin and developer */
  roles?: Role[];
}

/** What an approval's `data` holds: the form's parsed values, or any JSON object without a form. */
type ApprovalData<F extends z.core.$ZodType | undefined> = F extends undefined ? JsonObject : z.output<F>;

/** A person's decision on an approval. */
export interface ApprovalResult<D> {
  approved: boolean;
  /** The form's values (parsed by the form's schema); null when there is no form or the approver left it empty. */
  data: D | null;
  comment: string | null;
  decidedBy: { id: string; label: string | null };
  decidedAt: Date;
}

export interface WaitTokenOptions extends CommonOptions, TimeoutOption {}

/** Runs locally, a wait other than `until` has nothing to wait on: only the control plane learns of approvals, events and tokens. */
function needsWorker(what: string): Error {
  return new Error(
    `${what} needs an Outpost worker: durable waits are kept by the control plane, so run this flow from a deployment (outpost run <flow>/<deployment>) rather than by calling it directly`,
  );
}

/** Where a wait is kept: the worker's run, or nowhere (run locally). A subflow run of its own cannot wait. */
export function durableScope(what: string) {
  const { run, task } = currentScope();
  if (task) throw new Error(`${what} was called inside task ${task.taskKey}; call it from the flow's body`);
  if (run?.durable) return { durable: run.durable, signal: run.signal };
  if (run?.reporter.recordsRuns) {
    throw new Error(`${what} was called in subflow '${run.flowName}'; durable waits belong to the deployed flow's own body`);
  }
  return null;
}

const waitContracts = lazy(() => import('../contracts/waits.js'));

async function checkedRequest(what: string, request: unknown): Promise<WaitCreateRequest> {
  const { WaitCreateRequest } = await waitContracts();
  const parsed = WaitCreateRequest.safeParse(request);
  if (parsed.success) return parsed.data;
  const detail = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
  throw new TypeError(`invalid ${what} options: ${detail}`);
}

function isoOf(what: string, value: Date | string): string {
  const date = value instanceof Date ? value : new Date(value);
  if (Number.isNaN(date.getTime())) throw new TypeError(`invalid ${what}: ${String(value)} is not a date`);
  return date.toISOString();
}

/**
 * One durable wait of the worker's run: created (or found again by key), then, while pending,
 * either held in this process — when it is due within `OUTPOST_WAIT_HOLD_SECONDS` — or the run is
 * suspended: the tasks in flight finish, every completed task's result is written to the result
 * storage, and the worker parks the run and ends this process. The run replays once the wait
 * resolves, and this call then returns at once with the wait's value.
 */
export async function durableWait(
  what: string,
  scope: NonNullable<ReturnType<typeof durableScope>>,
  spec: WaitSpec,
  options: CommonOptions & TimeoutOption,
  behaviour: {
    /** Take a number in the run's `wait-<n>` sequence. @default true */
    numbered?: boolean;
    /**
     * Hold the process this long before suspending, even with no due time: for what often ends soon
     * (another run), where suspending at once would cost a replay. @default 0
     */
    holdFirstSeconds?: number;
  } = {},
): Promise<Wait> {
  const { durable, signal } = scope;
  // Every call takes its number, named or not: `wait-3` is always the run's third wait.
  const numbered = behaviour.numbered === false ? undefined : durable.nextWaitKey();
  const key = options.key ?? numbered;
  if (key === undefined) throw new TypeError(`${what}: a wait outside the numbered sequence needs a key`);
  const holdUntil = Date.now() + (behaviour.holdFirstSeconds ?? 0) * 1000;
  const request = await checkedRequest(what, {
    key,
    spec,
    ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
  });
  let wait = await raceAbort(durable.port.create(request), signal);
  let canSuspend = true;
  for (;;) {
    if (wait.status === 'RESOLVED') {
      log.info(`wait '${key}' resolved`);
      return wait;
    }
    if (wait.status === 'TIMED_OUT') throw new WaitTimeoutError(key, spec.kind);
    if (wait.status === 'CANCELLED') throw new WaitCancelledError(key);
    const due = [spec.kind === 'until' ? spec.until : null, wait.expiresAt]
      .filter((t): t is string => t !== null)
      .map((t) => Date.parse(t));
    const dueInMs = due.length > 0 ? Math.min(...due) - Date.now() : Number.POSITIVE_INFINITY;
    const heldFor = holdUntil - Date.now();
    if (!canSuspend || dueInMs <= holdSeconds() * 1000 || heldFor > 0) {
      const pollMs = dueInMs <= holdSeconds() * 1000 || !canSuspend ? dueInMs : Math.min(dueInMs, heldFor);
      const poll = Math.min(MAX_POLL_SECONDS, Math.max(1, Math.ceil(pollMs / 1000)));
      wait = await raceAbort(durable.port.get(wait.id, poll), signal);
      continue;
    }
    const plan = await raceAbort(durable.prepareSuspension(), signal);
    if (!plan.ok) {
      log.warning(`holding the flow's process for wait '${key}' instead of suspending the run: ${plan.problem}`);
      canSuspend = false;
      continue;
    }
    log.info(`suspending the run until wait '${key}' resolves; it resumes from its recorded results`);
    let answer: SuspendResponse;
    try {
      answer = await raceAbort(durable.port.suspend({ waitId: wait.id, results: plan.results }), signal);
    } catch (error) {
      if (signal.aborted) throw error;
      log.warning(
        `holding the flow's process for wait '${key}': the run could not be suspended: ${describeError(error as Error)}`,
      );
      canSuspend = false;
      continue;
    }
    // Parked: the worker ends this process, and the run continues in a later attempt.
    if (answer.suspended) return await raceAbort(new Promise<never>(() => {}), signal);
    wait = answer.wait;
  }
}

/**
 * Wait for an event: returns the first event of kind `event` (matching `match`) stored since `since`
 * — one that came before the wait counts too, so no wake-up is lost. Throws `WaitTimeoutError`
 * after `timeoutSeconds`. Needs a worker.
 * @example
 * const trained = await wait.for({ event: 'model.trained', match: 'event.payload.model == "churn"', timeoutSeconds: 86400 });
 */
async function waitFor(options: WaitForOptions): Promise<OutpostEvent> {
  const scope = durableScope('wait.for()');
  if (!scope) throw needsWorker('wait.for()');
  const spec: WaitSpec = {
    kind: 'event',
    event: options.event,
    ...(options.match === undefined ? {} : { match: options.match }),
    ...(options.since === undefined ? {} : { since: isoOf('since', options.since) }),
  };
  const wait = await durableWait('wait.for()', scope, spec, options);
  return wait.value as unknown as OutpostEvent;
}

/**
 * Wait until a time. Close at hand it holds the flow's process; far off, the run is suspended and
 * frees its worker slot until then. Run locally it simply sleeps.
 * @example
 * await wait.until(new Date(Date.now() + 6 * 3600_000)); // resume in six hours
 */
async function waitUntil(time: Date | string, options: WaitUntilOptions = {}): Promise<void> {
  const until = isoOf('wait.until() time', time);
  const scope = durableScope('wait.until()');
  if (!scope) {
    const signal = currentScope().run?.signal;
    // setTimeout holds at most about 24 days at once.
    for (let left = Date.parse(until) - Date.now(); left > 0; left = Date.parse(until) - Date.now()) {
      await sleep(Math.min(left, 2 ** 31 - 1), signal);
    }
    return;
  }
  await durableWait('wait.until()', scope, { kind: 'until', until }, options);
}

/**
 * Wait for a person's decision, made in the dashboard (approvals inbox or the run's page), the CLI
 * (`outpost waits approve|reject`) or the API by a user with one of `roles`. With a zod `form`, the
 * approver fills it in and `data` comes back typed. A rejection is returned (`approved: false`),
 * not thrown. Needs a worker.
 * @example
 * const decision = await wait.approval({
 *   title: 'Deploy the new model?',
 *   form: z.object({ rollout: z.number().min(0).max(100).default(10) }),
 *   roles: ['admin'],
 * });
 * if (decision.approved) await deploy(decision.data?.rollout ?? 10);
 */
async function waitApproval<F extends z.core.$ZodType | undefined = undefined>(
  options: WaitApprovalOptions<F>,
): Promise<ApprovalResult<ApprovalData<F>>> {
  const scope = durableScope('wait.approval()');
  if (!scope) throw needsWorker('wait.approval()');
  const schema = options.form as z.ZodType | undefined;
  let form: JsonObject | undefined;
  if (schema) {
    try {
      form = toFlowJsonSchema(schema) as JsonObject;
    } catch (error) {
      throw new TypeError(`wait.approval(): the form cannot be expressed as JSON Schema: ${describeError(error as Error)}`);
    }
  }
  const spec: WaitSpec = {
    kind: 'approval',
    title: options.title,
    ...(options.description === undefined ? {} : { description: options.description }),
    ...(form === undefined ? {} : { form }),
    ...(options.roles === undefined ? {} : { roles: options.roles }),
  };
  const wait = await durableWait('wait.approval()', scope, spec, options);
  const decision = wait.value as unknown as ApprovalDecision;
  let data: unknown = decision.data;
  if (schema && data !== null) {
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      throw new Error(`wait '${wait.key}': the approval's form data does not fit the form: ${parsed.error.message}`);
    }
    data = parsed.data;
  }
  return {
    approved: decision.approved,
    data: data as ApprovalData<F> | null,
    comment: decision.comment,
    decidedBy: decision.decidedBy,
    decidedAt: new Date(decision.decidedAt),
  };
}

/** A token wait begun with `wait.createToken()`: hand `token` to the system that completes it, then `wait()`. */
export interface WaitTokenHandle {
  /** The token the control plane made for this wait: 192 random bits, the one thing that completes it. */
  readonly token: string;
  /** The wait's key in its run. */
  readonly key: string;
  /** Waits for the token's completion and returns its value (throws `WaitTimeoutError` after the timeout). */
  wait(): Promise<unknown>;
}

/**
 * Begin a token wait whose token the control plane makes: an unguessable capability to hand to an
 * external system (a callback URL, a job's metadata), which completes it with
 * `POST /wait-tokens/:token/complete` or `outpost tokens complete`. The token is the same on every
 * replay of the run (the wait is found again by its key). Completing it before `wait()` is called
 * is fine: the wait exists from this call on. Needs a worker.
 * @example
 * const callback = await wait.createToken({ timeoutSeconds: 3600 });
 * await submitJob({ callbackToken: callback.token }); // a task
 * const result = await callback.wait();
 */
async function createToken(options: WaitTokenOptions = {}): Promise<WaitTokenHandle> {
  const scope = durableScope('wait.createToken()');
  if (!scope) throw needsWorker('wait.createToken()');
  const key = options.key ?? scope.durable.nextWaitKey();
  const request = await checkedRequest('wait.createToken()', {
    key,
    spec: { kind: 'token' },
    ...(options.timeoutSeconds === undefined ? {} : { timeoutSeconds: options.timeoutSeconds }),
  });
  const created = await raceAbort(scope.durable.port.create(request), scope.signal);
  if (created.spec.kind !== 'token') {
    throw new Error(`wait.createToken(): the run's wait "${key}" is a ${created.spec.kind} wait, not a token wait`);
  }
  const { token } = created.spec;
  return {
    token,
    key,
    wait: async () => {
      const waited = await durableWait(
        'wait.createToken()',
        scope,
        { kind: 'token', token },
        { ...options, key },
        { numbered: false },
      );
      return waited.value;
    },
  };
}

/**
 * Wait for an external system to complete a token you name yourself (`POST /wait-tokens/:token/complete`
 * or `outpost tokens complete`). A named token is an explicit opt-in to a human-readable name, such
 * as an order number a person types: anyone allowed to complete tokens in the workspace who can
 * guess the name can complete it. Prefer `wait.createToken()`, whose token is an unguessable
 * capability. A completion is accepted only once the wait exists (a token no wait asked for is
 * refused). Needs a worker.
 * @example
 * const value = await wait.token('approve-order-42', { timeoutSeconds: 3600 });
 */
async function waitToken(token: string, options: WaitTokenOptions = {}): Promise<unknown> {
  const scope = durableScope('wait.token()');
  if (!scope) throw needsWorker('wait.token()');
  const wait = await durableWait('wait.token()', scope, { kind: 'token', token }, options);
  return wait.value;
}

/**
 * Durable waits: a flow pauses until an event, a time, a person's approval or an external token.
 * A short wait holds the flow's process; a long one suspends the run (PAUSED, its worker slot and
 * process released) and, once the wait resolves, any worker of the pool resumes it on the same
 * code: the flow replays from the start, each task it completed before is answered from its
 * recorded result without running again, and each wait already resolved returns its value at once.
 * Flow code between waits therefore runs again on resume: keep side effects inside tasks, and call
 * tasks and waits in the same order on every run. Waits belong to the deployed flow's body (not its
 * tasks or subflows).
 */
export const wait = {
  for: waitFor,
  until: waitUntil,
  approval: waitApproval,
  token: waitToken,
  createToken,
};
