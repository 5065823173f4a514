import { randomUUID } from 'node:crypto';
import { type Clock, install } from '@sinonjs/fake-timers';
import type { AssetEvent, AssetGateResponse, DynamicPartitionKeysResponse } from '../contracts/assets.js';
import type { EventEmitRequest } from '../contracts/event-ledger.js';
import type { LogLevel } from '../contracts/logs.js';
import type { DeploymentRunCreateRequest } from '../contracts/manifests.js';
import type { ProposedState, StateType } from '../contracts/states.js';
import type { TaskRunEvent } from '../contracts/task-runs.js';
import type { ExternalJobOutcome, SuspendResponse, Wait, WaitCreateRequest } from '../contracts/waits.js';
import { externalJobRegistry } from '../integrations/defer.js';
import type { RunInfo } from '../runtime/context.js';
import type { StartedDeploymentRun, WaitPort } from '../runtime/durable.js';
import { type FlowOutcome, runFlowRun } from '../runtime/engine.js';
import { type Flow, flowDefinition } from '../runtime/flow.js';
import type { CreateArtifactBody, CreateChildRunBody } from '../runtime/protocol.js';
import type { LogRecord, ProposalOutcome, Reporter } from '../runtime/reporter.js';

/** How `testFlow` runs the flow. */
export interface TestFlowOptions {
  /**
   * Replace the clock while the flow runs: timers (retry delays, task timeouts, `wait.until`) fire
   * as soon as the flow waits on nothing but them, and `Date` starts at `now`. @default true
   */
  fakeClock?: boolean;
  /** The clock's start, with the fake clock; also the run's scheduled time. @default the real time */
  now?: Date;
  /** The attempt the run is on (`runContext().attempt`). @default 1 */
  attempt?: number;
  /** Tags of the run (`runContext().tags`). @default [] */
  tags?: string[];
  /** Partition key of the run (`runContext().partitionKey`). @default null */
  partitionKey?: string | null;
  /** Fail the test run when the fake clock moved this far without the flow ending. @default 1 year */
  maxClockMs?: number;
  /** Decisions for `wait.approval()`, by the approval's title. */
  approvals?: Record<string, { approved: boolean; data?: Record<string, unknown>; comment?: string }>;
  /** Values `wait.token()` gets, by token id; for `wait.createToken()` (a made-up token), by the wait's key. */
  tokens?: Record<string, unknown>;
  /** The event `wait.for()` gets, by event kind (its `match` is not evaluated here). */
  events?: Record<string, Record<string, unknown>>;
  /** How runs the flow waits on ended (`{ id, name, state }`), by run id. */
  runs?: Record<string, Record<string, unknown>>;
  /**
   * How the runs the flow starts with `runDeployment` end, by deployment (`flow/deployment`): an
   * answer, or a function of the run's parameters that gives one.
   */
  deployments?: Record<string, TestDeploymentAnswer | ((parameters: Record<string, unknown>) => TestDeploymentAnswer)>;
  /**
   * How jobs the flow `defer()`s end, by the name they were registered under (`deferrable()`). A job
   * with no answer here is polled for real, in the test's process, every `pollSeconds`.
   */
  externalJobs?: Record<string, ExternalJobOutcome>;
}

/** How a deployment's run started with `runDeployment` ends in a test. */
export interface TestDeploymentAnswer {
  /** @default 'COMPLETED' */
  state?: 'COMPLETED' | 'FAILED' | 'CRASHED' | 'CANCELLED';
  /** The state's message. @default null */
  message?: string;
  /** What `.result()` returns; without it, `.result()` finds no stored result. */
  result?: unknown;
}

/** A deployment's run the flow started with `runDeployment`. */
export interface TestDeploymentRun {
  id: string;
  name: string;
  /** `flow/deployment`. */
  deployment: string;
  parameters: Record<string, unknown>;
  /** The call's key in the run (`deployment-run-1`, or the one the flow gave). */
  key: string;
  tags: string[];
}

/** The answers a test gave for the run's waits. */
type WaitAnswers = Pick<TestFlowOptions, 'approvals' | 'tokens' | 'events' | 'runs' | 'deployments' | 'externalJobs'>;

const STATE_NAMES: Record<NonNullable<TestDeploymentAnswer['state']>, string> = {
  COMPLETED: 'Completed',
  FAILED: 'Failed',
  CRASHED: 'Crashed',
  CANCELLED: 'Cancelled',
};

/** One log line of the run or of one of its task runs. */
export interface TestLog {
  level: LogLevel;
  message: string;
  at: Date;
  /** The flow run the line belongs to (the run or one of its subflow runs). */
  flowRunId: string;
  taskKey: string | null;
  taskRunId: string | null;
}

/** An artifact the run (or one of its task runs) created. */
export interface TestArtifact {
  key: string;
  type: CreateArtifactBody['type'];
  data: Record<string, unknown>;
  description: string | null;
  flowRunId: string;
  taskRunId: string | null;
}

/** A task run, with every state it went through in order. */
export interface TestTaskRun {
  id: string;
  name: string;
  taskKey: string;
  flowRunId: string;
  /** Each state, in order (`PENDING`, `RUNNING`, `AWAITING_RETRY`…, then the final one). */
  states: { type: StateType; name: string | null; message: string | null; at: Date }[];
  /** The last state's type. */
  state: StateType;
  /** How many times its body ran (retries count; a cache hit ran it 0 times). */
  runCount: number;
  /** It completed from the task cache without running. */
  cached: boolean;
}

/** A subflow run the flow started. */
export interface TestSubflowRun {
  id: string;
  flowName: string;
  parentFlowRunId: string;
  parameters: Record<string, unknown>;
}

/** What the run did, with assertions that throw a message naming what differed. */
export interface TestFlowRun<R> {
  readonly id: string;
  /** The run's final state type (`COMPLETED`, `FAILED`, `CANCELLED`…). */
  readonly state: StateType;
  /** The flow's return value when it completed. */
  readonly result: R | undefined;
  /** What the flow threw when it did not complete. */
  readonly error: Error | undefined;
  /** The run's own state proposals, in order. */
  readonly states: ProposedState[];
  readonly logs: TestLog[];
  readonly artifacts: TestArtifact[];
  readonly taskRuns: TestTaskRun[];
  readonly subflowRuns: TestSubflowRun[];
  /** Events the flow emitted with `emit()`. */
  readonly events: EventEmitRequest[];
  readonly assetEvents: AssetEvent[];
  /** The run's durable waits, as they ended. */
  readonly waits: Wait[];
  /** Runs of deployments the flow started with `runDeployment`, in call order (a repeated key counts once). */
  readonly deploymentRuns: TestDeploymentRun[];
  /** How far the fake clock moved while the flow ran, in milliseconds (0 without it). */
  readonly clockAdvancedMs: number;
  /** The one task run called `name` (or with that task key); throws when there is none or several. */
  taskRun(name: string): TestTaskRun;
  /** Every task run called `name` (mapped tasks, a task called in a loop). */
  taskRunsNamed(name: string): TestTaskRun[];
  /** Throws unless the task run's final state (and, if given, run count and cache use) are as expected. */
  expectTaskRun(name: string, expected: { state?: StateType; runCount?: number; cached?: boolean }): TestTaskRun;
  /** Throws unless the run completed; returns its result. */
  expectCompleted(): R;
  /** Throws unless the run failed; returns the error. */
  expectFailed(message?: string | RegExp): Error;
}

/** Why a `TestFlowRun` assertion failed. */
export class FlowTestAssertionError extends Error {
  override readonly name = 'FlowTestAssertionError';
}

type Recorded = {
  logs: TestLog[];
  artifacts: TestArtifact[];
  taskRuns: Map<string, TestTaskRun>;
  subflowRuns: TestSubflowRun[];
  events: EventEmitRequest[];
  assetEvents: AssetEvent[];
  states: ProposedState[];
  dynamicPartitions: Map<string, string[]>;
  waits: Map<string, Wait>;
  deploymentRuns: TestDeploymentRun[];
};

const TEST_DECIDER = { id: '00000000-0000-4000-8000-000000000000', label: 'testFlow' };

/**
 * The run's waits, kept in the test: an approval, token or event wait resolves at once with the
 * answer the test gave (and fails the run naming the option to set when there is none), an until
 * wait or a timeout when the clock reaches it. Nothing is suspended: the flow's process holds.
 */
class TestWaits implements WaitPort {
  /** How each deployment run the flow started ends, by run id. */
  private readonly childAnswers = new Map<string, TestDeploymentAnswer>();

  constructor(
    private readonly recorded: Recorded,
    private readonly run: RunInfo,
    private readonly answers: WaitAnswers,
  ) {}

  async create(body: WaitCreateRequest): Promise<Wait> {
    const existing = [...this.recorded.waits.values()].find((w) => w.key === body.key);
    if (existing) return existing;
    const now = new Date();
    const wait: Wait = {
      id: randomUUID(),
      flowRunId: this.run.id,
      flowRunName: this.run.name,
      key: body.key,
      // A token wait that names no token gets one made up, as the control plane makes one.
      spec: body.spec.kind === 'token' ? { kind: 'token', token: body.spec.token ?? `wt_test-${randomUUID()}` } : body.spec,
      status: 'WAITING',
      createdAt: now.toISOString(),
      expiresAt: body.timeoutSeconds ? new Date(now.getTime() + body.timeoutSeconds * 1000).toISOString() : null,
      resolvedAt: null,
      value: null,
      poll: null,
    };
    this.recorded.waits.set(wait.id, wait);
    const answer = this.answerFor(wait);
    if (answer !== undefined) this.resolve(wait, answer);
    else if (wait.spec.kind !== 'until' && wait.spec.kind !== 'external' && wait.expiresAt === null) {
      const { spec } = wait;
      const what =
        spec.kind === 'approval'
          ? `approval '${spec.title}' (options.approvals)`
          : spec.kind === 'token'
            ? `token '${spec.token}' (options.tokens)`
            : spec.kind === 'event'
              ? `event '${spec.event}' (options.events)`
              : `run ${spec.flowRunId} (options.runs)`;
      throw new Error(`testFlow was given no answer for the ${what}, and the wait has no timeout`);
    }
    this.settleByTime(wait);
    return wait;
  }

  async get(waitId: string, holdSeconds: number): Promise<Wait> {
    const wait = this.recorded.waits.get(waitId) as Wait;
    if (wait.spec.kind === 'external' && wait.status === 'WAITING') {
      const { spec } = wait;
      // Polled here as a worker would poll it: once now, then after pollSeconds (or the timeout).
      const registered = externalJobRegistry().get(spec.job);
      if (!registered) throw new Error(`testFlow: no job is registered as '${spec.job}' (deferrable() at module scope)`);
      const status = await (await registered.job()).poll(spec.handle, {});
      if (status.state !== 'running') {
        this.resolve(wait, status);
        return wait;
      }
      const due = this.dueAt(wait) ?? Number.POSITIVE_INFINITY;
      const pause = Math.min(spec.pollSeconds * 1000, holdSeconds * 1000, Math.max(0, due - Date.now()));
      await new Promise((resolve) => setTimeout(resolve, pause));
      this.settleByTime(wait);
      return wait;
    }
    const due = this.dueAt(wait);
    if (wait.status === 'WAITING' && due !== null) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(due - Date.now(), holdSeconds * 1000))));
      this.settleByTime(wait);
    }
    return wait;
  }

  async suspend(body: { waitId: string }): Promise<SuspendResponse> {
    let wait = this.recorded.waits.get(body.waitId) as Wait;
    while (wait.status === 'WAITING') wait = await this.get(wait.id, 25);
    return { suspended: false, wait };
  }

  async replay(): Promise<[]> {
    return [];
  }

  async startDeploymentRun(body: DeploymentRunCreateRequest): Promise<StartedDeploymentRun> {
    const existing = this.recorded.deploymentRuns.find((r) => r.key === body.key);
    if (existing) return { id: existing.id, name: existing.name, created: false };
    const parameters = body.parameters ?? {};
    const given = this.answers.deployments?.[body.deployment];
    if (given === undefined) {
      throw new Error(`testFlow was given no answer for runDeployment('${body.deployment}') (options.deployments)`);
    }
    const answer = typeof given === 'function' ? given(parameters) : given;
    const id = randomUUID();
    const name = `${body.deployment.split('/')[0]}-${id.slice(0, 8)}`;
    this.recorded.deploymentRuns.push({
      id,
      name,
      deployment: body.deployment,
      parameters,
      key: body.key,
      tags: body.tags ?? [],
    });
    this.childAnswers.set(id, answer);
    return { id, name, created: true };
  }

  async readRunResult(runId: string): Promise<{ value: unknown } | null> {
    const answer = this.childAnswers.get(runId);
    return answer && 'result' in answer ? { value: answer.result } : null;
  }

  private answerFor(wait: Wait): unknown {
    const { spec } = wait;
    if (spec.kind === 'approval') {
      const decision = this.answers.approvals?.[spec.title];
      if (!decision) return undefined;
      return {
        approved: decision.approved,
        data: decision.data ?? null,
        comment: decision.comment ?? null,
        decidedBy: TEST_DECIDER,
        decidedAt: new Date().toISOString(),
      };
    }
    if (spec.kind === 'token') return this.answers.tokens?.[spec.token] ?? this.answers.tokens?.[wait.key];
    if (spec.kind === 'event') return this.answers.events?.[spec.event];
    if (spec.kind === 'run') return this.answers.runs?.[spec.flowRunId] ?? this.childRunEnding(spec.flowRunId);
    if (spec.kind === 'external') return this.answers.externalJobs?.[spec.job];
    return undefined;
  }

  /** The run wait's value for a deployment run the flow started, as the test's answer says it ends. */
  private childRunEnding(runId: string): unknown {
    const answer = this.childAnswers.get(runId);
    const run = this.recorded.deploymentRuns.find((r) => r.id === runId);
    if (!answer || !run) return undefined;
    const type = answer.state ?? 'COMPLETED';
    return { id: run.id, name: run.name, state: { type, name: STATE_NAMES[type], message: answer.message ?? null } };
  }

  private dueAt(wait: Wait): number | null {
    const times = [wait.spec.kind === 'until' ? wait.spec.until : null, wait.expiresAt]
      .filter((t): t is string => t !== null)
      .map((t) => Date.parse(t));
    return times.length > 0 ? Math.min(...times) : null;
  }

  private settleByTime(wait: Wait): void {
    if (wait.status !== 'WAITING') return;
    const now = Date.now();
    if (wait.spec.kind === 'until' && Date.parse(wait.spec.until) <= now) this.resolve(wait, null);
    else if (wait.expiresAt !== null && Date.parse(wait.expiresAt) <= now) {
      wait.status = 'TIMED_OUT';
      wait.resolvedAt = new Date(now).toISOString();
    }
  }

  private resolve(wait: Wait, value: unknown): void {
    wait.status = 'RESOLVED';
    wait.value = value as Wait['value'];
    wait.resolvedAt = new Date().toISOString();
  }
}

/** Records everything a run reports; every state is accepted, subflows are recorded runs of their own. */
class TestReporter implements Reporter {
  readonly capturesConsole = true;
  readonly recordsRuns = true;

  /** The root run's waits; a subflow run, as deployed, has none. */
  readonly waits: WaitPort | undefined;

  constructor(
    private readonly recorded: Recorded,
    private readonly flowRunId: string,
    private readonly root: boolean,
    waits?: WaitPort,
  ) {
    this.waits = waits;
  }

  log(record: LogRecord): void {
    this.recorded.logs.push({
      level: record.level,
      message: record.message,
      at: record.timestamp,
      flowRunId: this.flowRunId,
      taskKey: record.taskKey ?? null,
      taskRunId: record.taskRunId ?? null,
    });
  }

  async proposeState(state: ProposedState): Promise<ProposalOutcome> {
    if (this.root) this.recorded.states.push(state);
    return { status: 'ACCEPT', stateType: state.type, reason: null, waitSeconds: null };
  }

  taskRunEvent(event: TaskRunEvent): void {
    const at = new Date(event.at);
    const state = { type: event.state.type, name: event.state.name ?? null, message: event.state.message ?? null, at };
    if (event.kind === 'create') {
      this.recorded.taskRuns.set(event.id, {
        id: event.id,
        name: event.name,
        taskKey: event.taskKey,
        flowRunId: this.flowRunId,
        states: [state],
        state: state.type,
        runCount: event.runCount ?? (state.type === 'RUNNING' ? 1 : 0),
        cached: event.state.name === 'Cached',
      });
      return;
    }
    const run = this.recorded.taskRuns.get(event.id);
    if (!run) return;
    run.states.push(state);
    run.state = state.type;
    if (event.runCount !== undefined) run.runCount = event.runCount;
    else if (state.type === 'RUNNING') run.runCount += 1;
    if (event.state.name === 'Cached') run.cached = true;
  }

  taskRoom(): null {
    return null;
  }

  async createChildRun(body: Omit<CreateChildRunBody, 'parentFlowRunId'>): Promise<RunInfo> {
    this.recorded.subflowRuns.push({
      id: body.id,
      flowName: body.flowName,
      parentFlowRunId: this.flowRunId,
      parameters: body.parameters,
    });
    return {
      id: body.id,
      attempt: 1,
      name: `${body.flowName}-${body.id.slice(0, 8)}`,
      flowName: body.flowName,
      deploymentId: null,
    };
  }

  forChildRun(flowRunId: string): Reporter {
    return new TestReporter(this.recorded, flowRunId, false);
  }

  async createArtifact(body: Omit<CreateArtifactBody, 'flowRunId'>): Promise<void> {
    this.recorded.artifacts.push({
      key: body.key,
      type: body.type,
      data: body.data,
      description: body.description ?? null,
      flowRunId: this.flowRunId,
      taskRunId: body.taskRunId ?? null,
    });
  }

  async assetGate(): Promise<AssetGateResponse> {
    return { blocked: [], materialized: [] };
  }

  async reportAssetEvents(events: AssetEvent[]): Promise<void> {
    this.recorded.assetEvents.push(...events);
  }

  async addDynamicPartitions(name: string, keys: string[]): Promise<DynamicPartitionKeysResponse> {
    const set = this.recorded.dynamicPartitions.get(name) ?? [];
    const fresh = [...new Set(keys)].filter((k) => !set.includes(k));
    set.push(...fresh);
    this.recorded.dynamicPartitions.set(name, set);
    return { name, keys: [...set], added: fresh.length };
  }

  async emitEvent(event: EventEmitRequest): Promise<string> {
    const id = event.id ?? randomUUID();
    this.recorded.events.push({ ...event, id });
    return id;
  }
}

/*
 * Node's names for requests in flight (a file read, a DNS lookup, a connect, a write, a crypto job).
 * While one is pending the flow waits on real I/O, so the fake clock must not jump past its timeouts.
 */
const IO_IN_FLIGHT = /(Req|ReqWrap|ReqCallback|ReqPromise|ConnectWrap|WriteWrap|ShutdownWrap|Job)$/;

function ioInFlight(): boolean {
  return process.getActiveResourcesInfo().some((name) => IO_IN_FLIGHT.test(name));
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Runs `myFlow` in this process as a deployed run would, recording its states, logs (console
 * included), artifacts, task runs, subflow runs and events instead of sending them anywhere — a
 * test harness in the manner of Prefect's and Temporal's. With the fake clock (the default), retry
 * delays and sleeps take no real time: whenever the flow waits on timers alone, the clock moves to
 * the next one.
 *
 * ```ts
 * const run = await testFlow(etl, { day: '2026-03-01' });
 * run.expectCompleted();
 * run.expectTaskRun('extract', { state: 'COMPLETED', runCount: 2 });
 * ```
 */
export async function testFlow<F extends Flow<never, unknown>>(
  myFlow: F,
  parameters?: Parameters<F>[0],
  options: TestFlowOptions = {},
): Promise<TestFlowRun<Awaited<ReturnType<F>>>> {
  const def = flowDefinition(myFlow);
  const recorded: Recorded = {
    logs: [],
    artifacts: [],
    taskRuns: new Map(),
    subflowRuns: [],
    events: [],
    assetEvents: [],
    states: [],
    dynamicPartitions: new Map(),
    waits: new Map(),
    deploymentRuns: [],
  };
  const fake = options.fakeClock ?? true;
  const clock: Clock | null = fake
    ? install({
        now: options.now ?? new Date(),
        toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
      })
    : null;
  const startedAt = clock ? clock.now : Date.now();
  const id = randomUUID();
  const run: RunInfo = {
    id,
    attempt: options.attempt ?? 1,
    name: `${def.name}-${id.slice(0, 8)}`,
    flowName: def.name,
    deploymentId: null,
    scheduledTime: options.now ?? new Date(),
    tags: options.tags ?? [],
    partitionKey: options.partitionKey ?? null,
  };
  const reporter = new TestReporter(recorded, id, true, new TestWaits(recorded, run, options));
  // Waits are held in this process, never suspended: suspending would write task results to storage.
  const hold = process.env.OUTPOST_WAIT_HOLD_SECONDS;
  process.env.OUTPOST_WAIT_HOLD_SECONDS = String(10 * 365 * 86_400);
  let outcome: FlowOutcome;
  try {
    const running = runFlowRun(def, parameters, { reporter, run });
    outcome = clock ? await driveClock(running, clock, options.maxClockMs ?? 365 * 86_400_000) : await running;
  } finally {
    clock?.uninstall();
    if (hold === undefined) delete process.env.OUTPOST_WAIT_HOLD_SECONDS;
    else process.env.OUTPOST_WAIT_HOLD_SECONDS = hold;
  }
  const advanced = clock ? clock.now - startedAt : 0;
  return testRun(id, outcome, recorded, advanced);
}

/** Lets real work run; when only timers are left, moves the clock to the next one. */
async function driveClock(running: Promise<FlowOutcome>, clock: Clock, maxClockMs: number): Promise<FlowOutcome> {
  let done = false;
  const settled = running.finally(() => {
    done = true;
  });
  const limit = clock.now + maxClockMs;
  while (!done) {
    // Several turns of the real event loop: promise chains and finished I/O run before time moves.
    for (let i = 0; i < 3 && !done; i++) await turn();
    if (done) break;
    if (ioInFlight() || clock.countTimers() === 0) {
      await turn();
      continue;
    }
    if (clock.now > limit) throw new Error(`the flow did not end within ${maxClockMs} ms of fake time`);
    await clock.nextAsync();
  }
  return settled;
}

function testRun<R>(id: string, outcome: FlowOutcome, recorded: Recorded, clockAdvancedMs: number): TestFlowRun<R> {
  const taskRuns = [...recorded.taskRuns.values()];
  const named = (name: string) => taskRuns.filter((t) => t.name === name || t.taskKey === name);
  const describeAll = () => taskRuns.map((t) => `${t.name} (${t.state})`).join(', ') || 'none';
  const result: TestFlowRun<R> = {
    id,
    state: outcome.stateType,
    result: outcome.kind === 'completed' ? (outcome.result as R) : undefined,
    error: outcome.kind === 'failed' ? outcome.error : undefined,
    states: recorded.states,
    logs: recorded.logs,
    artifacts: recorded.artifacts,
    taskRuns,
    subflowRuns: recorded.subflowRuns,
    events: recorded.events,
    assetEvents: recorded.assetEvents,
    waits: [...recorded.waits.values()],
    deploymentRuns: recorded.deploymentRuns,
    clockAdvancedMs,
    taskRunsNamed: named,
    taskRun(name) {
      const found = named(name);
      if (found.length !== 1) {
        throw new FlowTestAssertionError(
          `expected one task run named '${name}', found ${found.length}; the run's task runs: ${describeAll()}`,
        );
      }
      return found[0] as TestTaskRun;
    },
    expectTaskRun(name, expected) {
      const taskRun = result.taskRun(name);
      const problems: string[] = [];
      if (expected.state !== undefined && taskRun.state !== expected.state) {
        problems.push(`state ${taskRun.state}, expected ${expected.state}`);
      }
      if (expected.runCount !== undefined && taskRun.runCount !== expected.runCount) {
        problems.push(`ran ${taskRun.runCount} time(s), expected ${expected.runCount}`);
      }
      if (expected.cached !== undefined && taskRun.cached !== expected.cached) {
        problems.push(taskRun.cached ? 'came from the cache, expected it to run' : 'ran, expected a cache hit');
      }
      if (problems.length > 0) {
        const history = taskRun.states.map((s) => s.name ?? s.type).join(' → ');
        throw new FlowTestAssertionError(`task run '${name}': ${problems.join('; ')} (states: ${history})`);
      }
      return taskRun;
    },
    expectCompleted() {
      if (outcome.kind !== 'completed') {
        const why = outcome.kind === 'failed' ? outcome.error.message : (outcome.reason ?? 'it was not run');
        throw new FlowTestAssertionError(`expected the run to complete, but it is ${outcome.stateType}: ${why}`);
      }
      return outcome.result as R;
    },
    expectFailed(message) {
      if (outcome.kind !== 'failed') {
        throw new FlowTestAssertionError(`expected the run to fail, but it is ${outcome.stateType}`);
      }
      const text = outcome.error.message;
      const matches = message === undefined || (typeof message === 'string' ? text.includes(message) : message.test(text));
      if (!matches) throw new FlowTestAssertionError(`the run failed with '${text}', expected ${String(message)}`);
      return outcome.error;
    },
  };
  return result;
}
