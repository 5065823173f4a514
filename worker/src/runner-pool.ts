import type { Logger } from 'pino';
import { backoffDelay } from './backoff.js';
import { FlowProcess } from './executors/flow-process.js';

export interface RunnerPoolOptions {
  /** How many started flow processes to keep waiting; 0 turns the pool off. */
  size: number;
  script: string;
  execArgv: string[];
  /** The environment every run of this worker shares; a run's own variables arrive with `start`. */
  env: Record<string, string>;
  /** Where a waiting process sits; each run moves it to its bundle directory with `start`. */
  cwd: string;
  logger: Logger;
}

/**
 * Flow processes started ahead of need: Node is up and the runner has said `ready`, so a claimed run
 * skips the process start. Each process takes exactly one run and exits after it, like a freshly
 * spawned one — nothing of one run can reach the next — and the pool starts a replacement once the
 * taken one has been handed its run. A process that dies while waiting is replaced after a backoff,
 * so a broken runner cannot turn into a spawn loop.
 */
export class RunnerPool {
  private readonly idle = new Set<FlowProcess>();
  private starting = 0;
  private failures = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  /** A refill asked for by `take`, run on the next turn of the event loop. */
  private deferredRefill: NodeJS.Immediate | null = null;
  private readonly log: Logger;
  /** Processes started so far, for diagnostics. */
  readonly stats = { started: 0 };

  constructor(private readonly options: RunnerPoolOptions) {
    this.log = options.logger.child({ component: 'runner-pool' });
  }

  start(): void {
    this.refill();
  }

  /** Processes waiting (ready or still loading). */
  get size(): number {
    return this.idle.size;
  }

  /** Processes waiting that have said `ready`. */
  get readyCount(): number {
    return [...this.idle].filter((proc) => proc.isReady && !proc.hasExited).length;
  }

  /** A waiting process for one run — a ready one if there is one — or null when the pool is empty. */
  take(): FlowProcess | null {
    if (this.stopped) return null;
    let chosen: FlowProcess | null = null;
    for (const proc of this.idle) {
      if (proc.hasExited || !proc.connected) continue;
      if (proc.isReady) {
        chosen = proc;
        break;
      }
      chosen ??= proc;
    }
    if (chosen) this.idle.delete(chosen);
    // A process that got as far as `ready` proves the runner works: forget earlier failures.
    if (chosen?.isReady) this.failures = 0;
    // Spawning blocks this thread until the child has exec'd (40–100 ms on a busy 2-core machine,
    // bench notes of 2026-11-25): the replacement starts after the caller has handed the run over.
    this.deferredRefill ??= setImmediate(() => {
      this.deferredRefill = null;
      this.refill();
    });
    return chosen;
  }

  /** Stops every waiting process (its whole group) and starts no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.deferredRefill) clearImmediate(this.deferredRefill);
    this.deferredRefill = null;
    const waiting = [...this.idle];
    this.idle.clear();
    await Promise.all(
      waiting.map(async (proc) => {
        await proc.kill();
        await proc.reap(0);
      }),
    );
  }

  private refill(): void {
    if (this.stopped || this.timer) return;
    while (this.idle.size + this.starting < this.options.size) {
      this.starting++;
      void this.spawnOne().finally(() => {
        this.starting--;
      });
    }
  }

  private async spawnOne(): Promise<void> {
    this.stats.started++;
    let proc: FlowProcess;
    try {
      proc = await FlowProcess.start({
        script: this.options.script,
        execArgv: this.options.execArgv,
        cwd: this.options.cwd,
        env: this.options.env,
      });
    } catch (error) {
      this.failed(error);
      return;
    }
    if (this.stopped) {
      await proc.kill();
      await proc.reap(0);
      return;
    }
    this.idle.add(proc);
    const bornAt = Date.now();
    void proc.exited.then(async (exit) => {
      // Taken processes are the run's business; only a waiting one dying is the pool's.
      if (!this.idle.delete(proc)) return;
      await proc.reap(0);
      if (this.stopped) return;
      this.failed(
        new Error(`a waiting flow process exited (code ${exit.code}, signal ${exit.signal}) after ${Date.now() - bornAt} ms`),
      );
    });
  }

  private failed(error: unknown): void {
    this.failures++;
    const delay = backoffDelay(this.failures, { baseMs: 500, maxMs: 60_000 });
    this.log.warn({ err: error, retryInMs: delay }, 'could not keep a flow process started');
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.refill();
    }, delay);
    this.timer.unref();
  }
}
