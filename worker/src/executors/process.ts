import { tmpdir } from 'node:os';
import type { Logger } from 'pino';
import { canApplyAtStart } from '../child-env.js';
import type { WorkerOptions } from '../options.js';
import { parentWatchExecArgv } from '../parent-watch-argv.js';
import { resultStorageExecArgv } from '../results/exec-argv.js';
import { RunnerPool } from '../runner-pool.js';
import { holdBundle } from '../sources/pull.js';
import { WarmPool } from '../warm-pool.js';
import {
  type AdoptedAttempt,
  type Attempt,
  AttemptAlreadyStarted,
  type AttemptEnvironment,
  type AttemptExit,
  type AttemptSink,
  attemptKey,
  type Executor,
  type ExecutorContext,
  type PreparedRun,
  type StopRequest,
} from './executor.js';
import { FlowProcess, type FlowProcessHandlers, runnerPath } from './flow-process.js';
import { isReadyMessage, type ParentMessage, startMessageOf } from './messages.js';

const READY_TIMEOUT_MS = 60_000;

/**
 * Runs each attempt as a Node process on this machine, the leader of a process group of its own,
 * talking the runtime protocol over its IPC channel. Processes can be started ahead of need
 * (`--prestart`); a run whose variables only work at process start gets a fresh one.
 */
export class ProcessExecutor implements Executor {
  readonly kind = 'process';
  // A flow process's watchdog kills it when the worker that started it dies: there is never anything to adopt.
  readonly canAdopt = false;
  private readonly options: WorkerOptions;
  private readonly logger: Logger;
  private readonly baseEnv: Record<string, string>;
  private readonly runner: string;
  /** Node options for every flow process: the parent watchdog and the result-storage registration. */
  private readonly execArgv: string[];
  /** Flow processes started ahead of need; null when `--prestart 0`. */
  private readonly pool: RunnerPool | null;
  /** Flow processes with a deployment version's bundle already imported; null when `--warm 0`. */
  private readonly warm: WarmPool | null;
  private readonly live = new Set<string>();

  constructor(settings: ExecutorContext) {
    this.options = settings.options;
    this.logger = settings.logger;
    this.baseEnv = settings.baseEnv;
    this.runner = runnerPath();
    this.execArgv = [...parentWatchExecArgv(), ...resultStorageExecArgv(settings.options.resultStorage)];
    this.pool =
      settings.options.prestart > 0
        ? new RunnerPool({
            size: settings.options.prestart,
            script: this.runner,
            execArgv: this.execArgv,
            env: this.baseEnv,
            cwd: tmpdir(),
            logger: settings.logger,
          })
        : null;
    this.warm =
      settings.options.warm > 0
        ? new WarmPool({
            size: settings.options.warm,
            obtain: () =>
              Promise.resolve(this.pool?.take() ?? null).then(
                (proc) =>
                  proc ?? FlowProcess.start({ script: this.runner, execArgv: this.execArgv, cwd: tmpdir(), env: this.baseEnv }),
              ),
            logger: settings.logger,
          })
        : null;
  }

  open(): void {
    this.pool?.start();
  }

  async close(): Promise<void> {
    await Promise.all([this.pool?.stop(), this.warm?.stop()]);
  }

  async adopt(): Promise<AdoptedAttempt[]> {
    return [];
  }

  async start(run: PreparedRun, sink: AttemptSink, stopped: AbortSignal): Promise<Attempt> {
    const key = attemptKey(run);
    if (this.live.has(key)) throw new AttemptAlreadyStarted(run.runId, run.attempt);
    this.live.add(key);
    let ready!: () => void;
    const readyPromise = new Promise<void>((resolve) => (ready = resolve));
    const handlers: FlowProcessHandlers = {
      onLine: (stream, line) => sink.line(stream, line),
      onMessage: (raw) => {
        sink.message(raw);
        if (isReadyMessage(raw)) ready();
      },
    };
    // A pre-started (or warm) process gets the run's variables with `start`; one that needs them at process start is spawned afresh.
    const late = canApplyAtStart(run.jobEnv);
    const version = late && this.warm ? warmKeyOf(run) : null;
    let pooled: FlowProcess | null = null;
    let warm = false;
    let proc: FlowProcess;
    try {
      if (version !== null && this.warm) {
        const taken = await this.warm.take(version, run.runEnv);
        if (taken.kind === 'warm') {
          pooled = taken.proc;
          warm = true;
        } else if (taken.reason !== null) {
          sink.note(
            'warning',
            `this run starts in a fresh process, not a warm one: ${taken.reason} (docs/runtime-protocol.md, "Warm starts")`,
          );
        }
      }
      if (late) pooled ??= this.pool?.take() ?? null;
      if (pooled) {
        proc = pooled;
        pooled.attach(handlers);
      } else {
        proc = await FlowProcess.start({
          script: this.runner,
          execArgv: this.execArgv,
          cwd: run.bundle.dir,
          env: { ...this.baseEnv, ...run.runEnv },
          ...handlers,
        });
      }
    } catch (error) {
      this.live.delete(key);
      throw error;
    }
    this.logger
      .child({ runId: run.runId, attempt: run.attempt })
      .info(
        { pid: proc.pid, digest: run.bundle.digest, commit: run.bundle.commit, prestarted: pooled !== null, warm },
        'flow process started',
      );
    const attempt = new ProcessAttempt(run, proc, this.options, () => this.live.delete(key));
    void this.handOver(run, proc, readyPromise, { sink, stopped, pooled: pooled !== null }).then(() => {
      // After the hand-over, off its path: this version runs here, so its next run may find its code imported.
      if (version === null || !this.warm || stopped.aborted) return;
      const release = holdBundle(run.bundle);
      if (!release) return;
      // What every run of this version has alike; the rest of a run's variables arrive with its `start`.
      const env = { OUTPOST_BUNDLE_DIR: run.bundle.dir };
      const target = {
        key: version,
        entry: run.bundle.entry,
        dir: run.bundle.dir,
        env,
        seen: { ...this.baseEnv, ...env },
        release,
      };
      setImmediate(() => this.warm?.warm(target));
    });
    return attempt;
  }

  /** Once the runner says `ready`, gives it the run; one that never does is killed. */
  private async handOver(
    run: PreparedRun,
    proc: FlowProcess,
    readyPromise: Promise<void>,
    { sink, stopped, pooled }: { sink: AttemptSink; stopped: AbortSignal; pooled: boolean },
  ): Promise<void> {
    const readyTimer = setTimeout(() => {
      if (!proc.hasExited) {
        sink.note('error', `the flow process did not start within ${READY_TIMEOUT_MS / 1000} s`);
        void proc.kill();
      }
    }, READY_TIMEOUT_MS);
    await Promise.race([readyPromise, proc.exited]);
    clearTimeout(readyTimer);
    if (proc.hasExited || stopped.aborted) return;
    // Before `start`: the runtime keeps its task-run events within a window from the first task on.
    proc.send({ t: 'taskAck', settled: 0 });
    proc.send({
      ...startMessageOf(run.claimed, run.bundle.entry),
      ...(pooled ? { env: run.runEnv, cwd: run.bundle.dir } : {}),
    });
  }
}

class ProcessAttempt implements Attempt {
  readonly runId: string;
  readonly attempt: number;
  readonly exited: Promise<AttemptExit>;

  constructor(
    run: PreparedRun,
    private readonly proc: FlowProcess,
    private readonly options: Pick<WorkerOptions, 'cancelGraceMs' | 'cancelNoticeMs'>,
    private readonly released: () => void,
  ) {
    this.runId = run.runId;
    this.attempt = run.attempt;
    this.exited = proc.exited;
  }

  get hasExited(): boolean {
    return this.proc.hasExited;
  }

  send(message: ParentMessage): boolean {
    return this.proc.send(message);
  }

  async stop(request: StopRequest): Promise<void> {
    const { proc } = this;
    const { cancelGraceMs, cancelNoticeMs } = this.options;
    switch (request.mode) {
      case 'kill':
        return proc.kill();
      case 'cancel':
        return proc.stop(cancelGraceMs, { reason: request.reason, waitMs: cancelNoticeMs });
      case 'await-exit':
        if (!(await proc.waitForExit(cancelNoticeMs))) await proc.stop(cancelGraceMs);
        return;
      case 'terminate':
        return proc.stop(cancelGraceMs);
    }
  }

  async cleanUp(): Promise<void> {
    try {
      await this.proc.reap(this.options.cancelGraceMs);
    } finally {
      this.released();
    }
  }

  /** The flow runs on the worker's own Node (`process.execPath`), on this machine. */
  async environment(): Promise<AttemptEnvironment> {
    return { executor: 'process', nodeVersion: process.version, image: null, imageDigest: null };
  }
}

/** The default executor: a process group per attempt on this machine. */
export function createProcessExecutor(context: ExecutorContext): Executor {
  return new ProcessExecutor(context);
}

/**
 * The version of a run's code a warm process may be kept for: its deployment, the bundle's pinned
 * digest or commit, and its entry module. Null for a `dir:///` source, whose files may change.
 */
export function warmKeyOf(run: PreparedRun): string | null {
  const pinned = run.bundle.digest ?? (run.bundle.commit !== undefined ? `git:${run.bundle.commit}` : null);
  if (pinned === null) return null;
  return JSON.stringify([run.claimed.deployment.id, pinned, run.bundle.entry]);
}
