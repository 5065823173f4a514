import { setTimeout as delay } from 'node:timers/promises';
import type { FlowRun, LogLine } from '@outpost/sdk/contracts';
import { isTerminal } from '@outpost/sdk/contracts';
import type { Api } from './api.js';
import { shortTime } from './output.js';

const PAGE = 1000;

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
  /** @default 500 */
  pollMs?: number;
}

export type FollowResult = { kind: 'done'; run: FlowRun | null } | { kind: 'interrupted' };

/**
 * Prints a run's logs in order. Following polls logs by cursor and the run's state; once the state
 * is terminal it drains what is left (the worker flushes a run's logs before proposing its
 * terminal state, so lines written before the end are already stored by then).
 */
export async function followLogs(api: Api, runId: string, options: FollowOptions): Promise<FollowResult> {
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
    try {
      await delay(pollMs, undefined, options.signal ? { signal: options.signal } : {});
    } catch {
      return { kind: 'interrupted' };
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
