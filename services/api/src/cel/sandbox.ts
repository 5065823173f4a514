import { Worker } from 'node:worker_threads';
import type { SandboxAnswer, SandboxBatch, SandboxItem, SandboxReady, SandboxResult } from './sandbox-protocol.js';
import { threadCpuClock } from './thread-clock.js';

export type { SandboxItem, SandboxResult } from './sandbox-protocol.js';

/*
 * Where the control plane evaluates tenants' CEL: a small pool of worker threads, never the event
 * loop that answers requests. An expression is estimated when it is saved (cost.ts), but an event's
 * real lists and strings can be larger than assumed, and a string function can grow its input, so
 * each evaluation also runs under a deadline and a heap limit. A thread that passes either is
 * terminated — a runaway expression is stopped, not awaited — and replaced; the item it was on
 * ends as `timeout` or `memory`, and the rest of its batch runs again on a fresh thread (CEL is
 * pure, so running an expression twice is safe). Batches wait in one queue per workspace, taken in
 * turn, so a workspace whose expressions are slow delays its own evaluations, not another's.
 *
 * Deadlines and budgets count the CPU time of the evaluating thread (thread-clock.ts), so a tenant
 * pays for what its expressions compute, not for the machine's load: with ten busy processes on two
 * cores a trivial expression can wait off the CPU longer than its whole deadline. A wider wall-clock
 * bound stays behind each (an evaluation that waits on the heap's helper threads, a system without a
 * thread clock, where the wall clock is all there is). A thread replaced because of a call's item is
 * charged to that call at what the last replacement cost to start.
 */

export interface CelSandboxOptions {
  /** Threads in the pool. @default 2 */
  threads: number;
  /** Most milliseconds of CPU time one evaluation may take. @default 50 */
  timeoutMs: number;
  /** Most milliseconds of wall time one evaluation may take, however little CPU it had. @default 1000 */
  wallTimeoutMs: number;
  /** Heap of each thread in MiB; an evaluation that needs more ends as `memory`. @default 64 */
  memoryMb: number;
  /** Most milliseconds of CPU time one call (a batch) may take in all; items left end as `skipped`. @default 2000 */
  batchBudgetMs: number;
  /** Most milliseconds of wall time one call may take in all, queueing excluded. @default 10000 */
  batchWallMs: number;
}

export const CEL_SANDBOX_DEFAULTS: CelSandboxOptions = {
  threads: 2,
  timeoutMs: 50,
  wallTimeoutMs: 1_000,
  memoryMb: 64,
  batchBudgetMs: 2_000,
  batchWallMs: 10_000,
};

/** A call's results, with the CPU time it was charged: its evaluations' and the thread replacements it caused. */
export interface MeteredResults {
  results: SandboxResult[];
  cpuMs: number;
}

interface Job {
  workspaceId: string;
  bindings: Record<string, unknown>[];
  items: SandboxItem[];
  outcomes: (SandboxResult | undefined)[];
  /** Indices into `items` still to evaluate. */
  pending: number[];
  /** When the job first reached a thread; its wall-time bound counts from there. */
  startedAt: number | null;
  /** CPU milliseconds charged to the job by the batches it finished or lost. */
  cpuMs: number;
  resolve: (answer: MeteredResults) => void;
}

interface Thread {
  worker: Worker;
  progress: Int32Array;
  buffer: SharedArrayBuffer;
  job: Job | null;
  /** The indices into the job's items sent in the batch under way, in order. */
  sent: number[];
  watchdog: NodeJS.Timeout | null;
  /** The thread's kernel id, once it is ready (null where the system does not say). */
  tid: number | null;
  /** The thread's CPU time in ms (null without a thread clock, or once the thread is gone). */
  clock: () => number | null;
  /** When the batch under way was sent, and the thread's CPU time then and when last read. */
  sentAt: number;
  cpuAtSend: number | null;
  cpuLast: number | null;
  /** The item under way, and the wall time and thread CPU time when the watchdog first saw it. */
  seen: { index: number; since: number; cpu: number | null };
  /** The thread was terminated on purpose; its exit is not a crash. */
  retired: boolean;
  /** The thread has loaded its code and said so; only then is it sent work. */
  ready: boolean;
}

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const THREAD_URL = new URL(FROM_SOURCE ? './sandbox-thread.ts' : './sandbox-thread.js', import.meta.url);

/** Run from TypeScript sources (the API's own tests), the thread loads them through tsx. */
function threadEntry(): { entry: string | URL; eval: boolean } {
  if (!FROM_SOURCE) return { entry: THREAD_URL, eval: false };
  const code = `import('tsx/esm/api').then((m) => { m.register(); return import(${JSON.stringify(THREAD_URL.href)}); })`;
  return { entry: code, eval: true };
}

export class CelSandbox {
  readonly options: CelSandboxOptions;
  readonly #threads: Thread[] = [];
  readonly #queues = new Map<string, Job[]>();
  /** Workspaces with queued jobs, in the order they are served. */
  readonly #turns: string[] = [];
  #nextId = 1;
  #closed = false;
  /** CPU milliseconds the last thread took to start, until measured the evaluation deadline. */
  #startCostMs: number;

  constructor(options: Partial<CelSandboxOptions> = {}) {
    this.options = { ...CEL_SANDBOX_DEFAULTS, ...options };
    this.#startCostMs = this.options.timeoutMs;
  }

  /**
   * Evaluates each item with its bindings (`items[i].bindings` indexes `bindings`) and answers one
   * result per item, in order. Never rejects: a failure is a result.
   */
  async run(workspaceId: string, bindings: Record<string, unknown>[], items: SandboxItem[]): Promise<SandboxResult[]> {
    return (await this.runMetered(workspaceId, bindings, items)).results;
  }

  /** As run, with the CPU time the call was charged. */
  runMetered(workspaceId: string, bindings: Record<string, unknown>[], items: SandboxItem[]): Promise<MeteredResults> {
    if (items.length === 0) return Promise.resolve({ results: [], cpuMs: 0 });
    if (this.#closed) return Promise.resolve({ results: items.map(() => skipped('the server is stopping')), cpuMs: 0 });
    return new Promise((resolve) => {
      const job: Job = {
        workspaceId,
        bindings,
        items,
        outcomes: items.map(() => undefined),
        pending: items.map((_, i) => i),
        startedAt: null,
        cpuMs: 0,
        resolve,
      };
      this.#enqueue(job, false);
      this.#dispatch();
    });
  }

  /** The kernel ids of the pool's threads that have started (where the system says), for diagnostics. */
  threadIds(): number[] {
    return this.#threads.flatMap((t) => (t.ready && t.tid !== null ? [t.tid] : []));
  }

  /** Starts the pool's threads now rather than on the first evaluation. */
  warm(): void {
    while (!this.#closed && this.#threads.length < this.options.threads) this.#threads.push(this.#spawn());
  }

  /** Terminates every thread; queued and running evaluations end as `skipped`. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const queue of this.#queues.values()) for (const job of queue) this.#finish(job, 'the server is stopping');
    this.#queues.clear();
    this.#turns.length = 0;
    const threads = this.#threads.splice(0);
    await Promise.all(
      threads.map(async (t) => {
        t.retired = true;
        this.#stopWatch(t);
        if (t.job) this.#finish(t.job, 'the server is stopping');
        t.job = null;
        await t.worker.terminate();
      }),
    );
  }

  #enqueue(job: Job, front: boolean): void {
    let queue = this.#queues.get(job.workspaceId);
    if (!queue) {
      queue = [];
      this.#queues.set(job.workspaceId, queue);
      this.#turns.push(job.workspaceId);
    }
    if (front) queue.unshift(job);
    else queue.push(job);
  }

  /** The next job, taking workspaces in turn. */
  #take(): Job | null {
    const workspaceId = this.#turns.shift();
    if (workspaceId === undefined) return null;
    const queue = this.#queues.get(workspaceId) ?? [];
    const job = queue.shift() ?? null;
    if (queue.length > 0) this.#turns.push(workspaceId);
    else this.#queues.delete(workspaceId);
    return job;
  }

  #dispatch(): void {
    if (this.#closed) return;
    for (;;) {
      const thread = this.#threads.find((t) => t.job === null && t.ready);
      if (!thread) {
        if (this.#threads.length < this.options.threads && this.#turns.length > 0) this.#threads.push(this.#spawn());
        return;
      }
      const job = this.#take();
      if (!job) return;
      this.#send(thread, job);
    }
  }

  #spawn(): Thread {
    const buffer = new SharedArrayBuffer(4);
    const { entry, eval: isEval } = threadEntry();
    const worker = new Worker(entry, {
      eval: isEval,
      resourceLimits: {
        maxOldGenerationSizeMb: this.options.memoryMb,
        maxYoungGenerationSizeMb: Math.max(4, Math.floor(this.options.memoryMb / 4)),
      },
    });
    const thread: Thread = {
      worker,
      progress: new Int32Array(buffer),
      buffer,
      job: null,
      sent: [],
      watchdog: null,
      tid: null,
      clock: () => null,
      sentAt: 0,
      cpuAtSend: null,
      cpuLast: null,
      seen: { index: -1, since: 0, cpu: null },
      retired: false,
      ready: false,
    };
    worker.on('message', (message: SandboxAnswer | SandboxReady) => {
      if (!('ready' in message)) return this.#answered(thread, message);
      thread.tid = message.tid;
      const clock = message.tid === null ? null : threadCpuClock(message.tid);
      if (clock) {
        thread.clock = clock;
        // What a thread costs to start (loading the evaluator), charged to a call that makes the pool replace one.
        this.#startCostMs = clock() ?? this.#startCostMs;
      }
      thread.ready = true;
      this.#dispatch();
    });
    worker.on('error', (error: Error & { code?: string }) => {
      const memory = error.code === 'ERR_WORKER_OUT_OF_MEMORY';
      this.#lost(
        thread,
        memory ? 'memory' : 'error',
        memory ? `the evaluation used more than ${this.options.memoryMb} MiB` : error.message,
      );
    });
    worker.on('exit', () => this.#lost(thread, 'error', 'the evaluation thread stopped'));
    // An idle pool never keeps the process alive (after the listeners: adding one refs the thread's port again).
    worker.unref();
    return thread;
  }

  #send(thread: Thread, job: Job): void {
    job.startedAt ??= Date.now();
    const id = this.#nextId++;
    thread.job = job;
    thread.sent = [...job.pending];
    Atomics.store(thread.progress, 0, 0);
    const batch: SandboxBatch = {
      id,
      bindings: job.bindings,
      items: thread.sent.map((i) => job.items[i] as SandboxItem),
      progress: thread.buffer,
    };
    thread.sentAt = Date.now();
    thread.cpuAtSend = thread.cpuLast = thread.clock();
    thread.seen = { index: -1, since: thread.sentAt, cpu: thread.cpuAtSend };
    const every = Math.max(2, Math.min(20, Math.floor(this.options.timeoutMs / 5)));
    thread.watchdog = setInterval(() => this.#watch(thread), every);
    thread.watchdog.unref();
    // A thread at work keeps the process alive until it answers.
    thread.worker.ref();
    thread.worker.postMessage(batch);
  }

  /** Terminates the thread when its item under way has run past the deadline, or the job past its budget. */
  #watch(thread: Thread): void {
    const job = thread.job;
    if (!job) return;
    const now = Date.now();
    const cpu = this.#readClock(thread);
    const index = Atomics.load(thread.progress, 0) - 1;
    if (index !== thread.seen.index) thread.seen = { index, since: now, cpu };
    const { timeoutMs, wallTimeoutMs, batchBudgetMs, batchWallMs } = this.options;
    const itemWall = now - thread.seen.since;
    const itemCpu = cpu !== null && thread.seen.cpu !== null ? cpu - thread.seen.cpu : itemWall;
    const jobWall = job.startedAt === null ? 0 : now - job.startedAt;
    const jobCpu = job.cpuMs + this.#batchCpu(thread, now);
    const overDeadline = index >= 0 && (itemCpu > timeoutMs || itemWall > Math.max(timeoutMs, wallTimeoutMs));
    const overBudget = jobCpu > batchBudgetMs || jobWall > Math.max(batchBudgetMs, batchWallMs);
    if (!overDeadline && !overBudget) return;
    const item = index >= 0 ? thread.sent[index] : undefined;
    if (item !== undefined) {
      const message = overDeadline
        ? itemCpu > timeoutMs
          ? `the evaluation ran longer than ${timeoutMs} ms of CPU time`
          : `the evaluation took longer than ${Math.max(timeoutMs, wallTimeoutMs)} ms`
        : budgetMessage(jobCpu > batchBudgetMs, this.options);
      job.outcomes[item] = { ok: false, reason: 'timeout', message };
    }
    this.#retire(thread, job, overBudget ? budgetMessage(jobCpu > batchBudgetMs, this.options) : null);
  }

  /** The thread's CPU time now (remembered as its last reading), or null without a clock. */
  #readClock(thread: Thread): number | null {
    const cpu = thread.clock();
    if (cpu !== null) thread.cpuLast = cpu;
    return cpu;
  }

  /** The CPU time the batch on this thread has used up to the thread's last reading (without a clock, the wall time until `now`). */
  #batchCpu(thread: Thread, now: number): number {
    return thread.cpuLast !== null && thread.cpuAtSend !== null ? thread.cpuLast - thread.cpuAtSend : now - thread.sentAt;
  }

  /** Adds to the job what its batch on this thread used (`#batchCpu`): the deadline and the charge read the same figure. */
  #charge(thread: Thread, job: Job): void {
    job.cpuMs += this.#batchCpu(thread, Date.now());
    thread.cpuAtSend = null;
  }

  #answered(thread: Thread, answer: SandboxAnswer): void {
    const job = thread.job;
    if (!job || thread.retired) return;
    answer.results.forEach((result, i) => {
      const item = thread.sent[i];
      if (item !== undefined) job.outcomes[item] = result;
    });
    this.#readClock(thread);
    this.#charge(thread, job);
    this.#stopWatch(thread);
    thread.job = null;
    thread.sent = [];
    thread.worker.unref();
    this.#complete(job);
    this.#dispatch();
  }

  /** The thread died (heap limit, crash): the item under way ends with `reason`, the rest runs again. */
  #lost(thread: Thread, reason: 'memory' | 'error', message: string): void {
    if (thread.retired) return;
    const job = thread.job;
    if (job) {
      const index = Atomics.load(thread.progress, 0) - 1;
      const item = index >= 0 ? thread.sent[index] : undefined;
      if (item !== undefined) job.outcomes[item] = { ok: false, reason, message };
    }
    this.#retire(thread, job, null);
  }

  /**
   * Replaces a thread that is stuck or dead, and puts its job's unfinished items back in the queue;
   * `budgetSpent` says why the job ends now instead.
   */
  #retire(thread: Thread, job: Job | null, budgetSpent: string | null): void {
    thread.retired = true;
    this.#stopWatch(thread);
    thread.job = null;
    void thread.worker.terminate();
    const at = this.#threads.indexOf(thread);
    if (at >= 0) this.#threads.splice(at, 1);
    if (job) {
      this.#charge(thread, job);
      job.cpuMs += this.#startCostMs;
      // Results of the batch's other items were not received: they run again, except the ones that ended.
      job.pending = job.pending.filter((i) => job.outcomes[i] === undefined);
      if (budgetSpent !== null || this.#closed) this.#finish(job, budgetSpent ?? 'the server is stopping');
      else if (job.pending.length === 0) this.#complete(job);
      else this.#enqueue(job, true);
    }
    this.#dispatch();
  }

  #stopWatch(thread: Thread): void {
    if (thread.watchdog) clearInterval(thread.watchdog);
    thread.watchdog = null;
  }

  #complete(job: Job): void {
    job.resolve({ results: job.outcomes.map((o) => o ?? skipped('not evaluated')), cpuMs: job.cpuMs });
  }

  /** Ends a job now: what has no result is `skipped`. */
  #finish(job: Job, message: string): void {
    job.pending = [];
    job.resolve({ results: job.outcomes.map((o) => o ?? skipped(message)), cpuMs: job.cpuMs });
  }
}

/** Why a call's items were stopped: its CPU budget spent, or its wall-time bound passed. */
function budgetMessage(cpu: boolean, options: CelSandboxOptions): string {
  return cpu
    ? `the evaluations of this call ran longer than ${options.batchBudgetMs} ms of CPU time`
    : `the evaluations of this call took longer than ${Math.max(options.batchBudgetMs, options.batchWallMs)} ms`;
}

function skipped(message: string): SandboxResult {
  return { ok: false, reason: 'skipped', message };
}

let shared: CelSandbox | null = null;
let sharedOptions: Partial<CelSandboxOptions> = {};

/** Sets the options of the process's sandbox (at boot, from the environment); a running one is replaced. */
export function configureCelSandbox(options: Partial<CelSandboxOptions>): void {
  sharedOptions = options;
  const old = shared;
  shared = null;
  void old?.close();
}

/** The process's sandbox: one pool serves the API's routes and its loops. */
export function celSandbox(): CelSandbox {
  shared ??= new CelSandbox(sharedOptions);
  return shared;
}

/** A budget failure (`timeout`, `memory`, `skipped`), as opposed to an expression failing on its input. */
export function isBudgetFailure(result: SandboxResult): result is Extract<SandboxResult, { ok: false }> {
  return !result.ok && result.reason !== 'error';
}
