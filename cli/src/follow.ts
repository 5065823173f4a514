import { setTimeout as delay } from 'node:timers/promises';
import type { FlowRun, LogLine } from '@outpost/sdk/contracts';
import { isTerminal } from '@outpost/sdk/contracts';
import type { Api } from './api.js';
import { readEventStream } from './event-stream.js';
import { shortTime } from './output.js';

const PAGE = 1000;
/** How long after a dropped event stream following opens it again (polling goes on meanwhile). */
const RECONNECT_MS = 1000;

export interface FollowOptions {
  /** Keep reading until the run is terminal and every log line is read. */
  follow: boolean;
  /** Prints one line; `task` is the name of the task run that logged it, null for the flow's own lines. */
  print(line: LogLine, task: string | null): void;
  /** Picks the lines to print from each page read (all of them when absent). */
  select?(lines: LogLine[]): Promise<LogLine[]> | LogLine[];
  /** Called with the run each time its state is read; following waits for it. */
  onRun?(run: FlowRun): void | Promise<void>;
  /** Aborting stops following at the next poll. */
  signal?: AbortSignal;
  /** The longest wait between two polls; a change of the run on the event stream ends a wait early. @default 500 */
  pollMs?: number;
}

export type FollowResult = { kind: 'done'; run: FlowRun | null } | { kind: 'interrupted' };

/**
 * Prints a run's logs in order. Following polls logs by cursor and the run's state; once the state
 * is terminal it drains what is left (the worker flushes a run's logs before proposing its
 * terminal state, so lines written before the end are already stored by then). While it waits,
 * the workspace's flow-run event stream is open: a change of this run polls at once, so its end is
 * seen when it happens rather than at the next poll; without the stream (an older server, a drop)
 * the poll every `pollMs` goes on alone. The stream is closed when following ends.
 */
export async function followLogs(api: Api, runId: string, options: FollowOptions): Promise<FollowResult> {
  const waker = new Waker();
  const stop = new AbortController();
  let events: Promise<void> | null = null;
  try {
    return await poll(api, runId, options, (ms) => {
      events ??= wakeOnRunEvents(api, runId, waker, stop.signal);
      return waker.wait(ms, options.signal);
    });
  } finally {
    stop.abort();
    await events;
  }
}

async function poll(
  api: Api,
  runId: string,
  options: FollowOptions,
  wait: (ms: number) => Promise<boolean>,
): Promise<FollowResult> {
  let cursor: string | undefined;
  let terminal: FlowRun | null = null;
  const pollMs = options.pollMs ?? 500;
  const tasks = new TaskNames(api, runId);
  for (;;) {
    if (options.signal?.aborted) return { kind: 'interrupted' };
    const page = await api.call(
      'logsRead',
      { params: { id: runId }, query: { limit: PAGE, ...(cursor ? { cursor } : {}) } },
      `cannot read the logs of run ${runId}`,
    );
    const lines = options.select ? await options.select(page.items) : page.items;
    await tasks.learn(lines);
    for (const line of lines) options.print(line, tasks.name(line.taskRunId));
    cursor = page.nextCursor;
    if (page.items.length >= PAGE) continue;
    if (!options.follow || terminal) return { kind: 'done', run: terminal };
    const run = await api.call('flowRunsGet', { params: { id: runId } }, `cannot read run ${runId}`);
    await options.onRun?.(run);
    if (isTerminal(run.state.type)) {
      terminal = run;
      continue;
    }
    if (!(await wait(pollMs))) return { kind: 'interrupted' };
  }
}

/** Ends a wait between two polls early. A wake while no one waits ends the next wait at once. */
class Waker {
  #woken = false;
  #wake: (() => void) | null = null;

  wake(): void {
    this.#woken = true;
    this.#wake?.();
  }

  /** Resolves true after `ms` or at a wake, false when `signal` aborts. */
  wait(ms: number, signal?: AbortSignal): Promise<boolean> {
    if (signal?.aborted) return Promise.resolve(false);
    if (this.#woken) {
      this.#woken = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const finish = (ok: boolean) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', aborted);
        this.#wake = null;
        this.#woken = false;
        resolve(ok);
      };
      const aborted = () => finish(false);
      const timer = setTimeout(() => finish(true), ms);
      signal?.addEventListener('abort', aborted, { once: true });
      this.#wake = () => finish(true);
    });
  }
}

/**
 * Wakes `waker` at each change of run `runId` on the workspace's flow-run event stream, and once
 * each time the stream connects (a change may have come before it). A stream that drops is opened
 * again; when the first opening fails (a server without the stream, a refusal) polling goes on
 * alone. Ends when `signal` aborts; never throws.
 */
async function wakeOnRunEvents(api: Api, runId: string, waker: Waker, signal: AbortSignal): Promise<void> {
  for (let connected = false; !signal.aborted; ) {
    try {
      const res = await api.openStream('/flow-runs/events', `cannot follow run ${runId}`, signal);
      connected = true;
      await readEventStream(res, {
        comment: (text) => {
          if (text === 'connected') waker.wake();
        },
        data: (data) => {
          if (!data.includes(runId)) return;
          try {
            if ((JSON.parse(data) as { id?: unknown }).id === runId) waker.wake();
          } catch {
            // not a run: nothing to wake for
          }
        },
      });
    } catch {
      if (!connected) return;
    }
    try {
      await delay(RECONNECT_MS, undefined, { signal });
    } catch {
      return;
    }
  }
}

/** `12:00:01  INFO     [train] message`: the task's name when a task run logged the line. */
export function formatLogLine(line: LogLine, task: string | null = null): string {
  return `${shortTime(line.timestamp)}  ${line.level.toUpperCase().padEnd(8)} ${task === null ? '' : `[${task}] `}${line.message}`;
}

const TASK_PAGE = 1000;

/**
 * The names of a run's task runs, for its log lines, which carry a task-run id. The task runs are
 * read when a line names one not seen yet: a task run is stored before any line that refers to it,
 * so after a read an id still unknown has no task run to name (its line is printed without one).
 */
export class TaskNames {
  private readonly names = new Map<string, string | null>();

  constructor(
    private readonly api: Api,
    private readonly runId: string,
  ) {}

  async learn(lines: readonly LogLine[]): Promise<void> {
    const unseen = lines.filter((l) => l.taskRunId !== null && !this.names.has(l.taskRunId));
    if (unseen.length === 0) return;
    let cursor: string | null = null;
    do {
      const page: { items: { id: string; name: string }[]; nextCursor: string | null } = await this.api.call(
        'taskRunsList',
        { params: { id: this.runId }, query: { limit: TASK_PAGE, ...(cursor ? { cursor } : {}) } },
        `cannot list the task runs of run ${this.runId}`,
      );
      for (const t of page.items) this.names.set(t.id, t.name);
      cursor = page.nextCursor;
    } while (cursor);
    for (const l of unseen) if (!this.names.has(l.taskRunId!)) this.names.set(l.taskRunId!, null);
  }

  name(taskRunId: string | null): string | null {
    return taskRunId === null ? null : (this.names.get(taskRunId) ?? null);
  }
}

/** An AbortSignal that fires on the first SIGINT/SIGTERM the command takes over. */
export function interruptSignal(interrupts: () => Promise<string>): AbortSignal {
  const controller = new AbortController();
  void interrupts().then((signal) => controller.abort(signal));
  return controller.signal;
}
