import { tmpdir } from 'node:os';
import type { Logger } from 'pino';
import { canApplyAtStart } from '../child-env.js';
import type { WorkerOptions } from '../options.js';
import { parentWatchExecArgv } from '../parent-watch-argv.js';
import { resultStorageExecArgv } from '../results/exec-argv.js';
import { RunnerPool } from '../runner-pool.js';
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
  }

  open(): void {
    this.pool?.start();
  }

  async close(): Promise<void> {
    await this.pool?.stop();
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
    // A pre-started process gets the run's variables with `start`; one that needs them at process start is spawned afresh.
    const pooled = canApplyAtStart(run.jobEnv) ? (this.pool?.take() ?? null) : null;
    let proc: FlowProcess;
    try {
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
        { pid: proc.pid, digest: run.bundle.digest, commit: run.bundle.commit, prestarted: pooled !== null },
        'flow process started',
      );
    const attempt = new ProcessAttempt(run, proc, this.options, () => this.live.delete(key));
    void this.handOver(run, proc, readyPromise, { sink, stopped, pooled: pooled !== null });
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
