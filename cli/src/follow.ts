import { setTimeout as delay } from 'node:timers/promises';
import type { FlowRun, LogLine } from '@outpost/sdk/contracts';
import { isTerminal } from '@outpost/sdk/contracts';
import type { Api } from './api.js';
import { shortTime } from './output.js';

const PAGE = 1000;

export interface FollowOptions {
  /** Keep reading until the run is terminal and every log line is read. */
  follow: boolean;
  print(line: LogLine): void;
  /** Picks the lines to print from each page read (all of them when absent). */
  select?(lines: LogLine[]): Promise<LogLine[]> | LogLine[];
  /** Called with the run each time its state is read. */
  onRun?(run: FlowRun): void;
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
  for (;;) {
    if (options.signal?.aborted) return { kind: 'interrupted' };
    const page = await api.call(
      'logsRead',
      { params: { id: runId }, query: { limit: PAGE, ...(cursor ? { cursor } : {}) } },
      `cannot read the logs of run ${runId}`,
    );
    for (const line of options.select ? await options.select(page.items) : page.items) options.print(line);
    cursor = page.nextCursor;
    if (page.items.length >= PAGE) continue;
    if (!options.follow || terminal) return { kind: 'done', run: terminal };
    const run = await api.call('flowRunsGet', { params: { id: runId } }, `cannot read run ${runId}`);
    options.onRun?.(run);
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

export function formatLogLine(line: LogLine): string {
  return `${shortTime(line.timestamp)}  ${line.level.toUpperCase().padEnd(8)} ${line.message}`;
}

/** An AbortSignal that fires on the first SIGINT/SIGTERM the command takes over. */
export function interruptSignal(interrupts: () => Promise<string>): AbortSignal {
  const controller = new AbortController();
  void interrupts().then((signal) => controller.abort(signal));
  return controller.signal;
}
