import type { FlowRun, LogLine } from '@outpost/sdk/contracts';
import type { Api } from '../api.js';
import type { Command } from '../command.js';
import { booleanOption, stringOption } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { followLogs, formatLogLine, interruptSignal } from '../follow.js';
import { findRun } from '../resolve.js';
import { stateColor } from '../style.js';

const TASK_PAGE = 1000;

/** `outpost logs` and `outpost runs logs`: the same command under the name each family expects. */
function logsCommand(name: string): Command {
  return {
    name,
    args: '<run>',
    summary: "Print a run's logs in order (by name or id); --follow streams new lines until the run ends",
    options: {
      follow: { type: 'boolean', short: 'f', description: 'keep reading until the run has ended and every line is printed' },
      task: { type: 'string', placeholder: '<name>', description: 'only lines logged by task runs of this task name' },
      attempt: { type: 'string', placeholder: '<n>', description: "only lines of the run's nth attempt" },
    },
    notes: ['With --json, each line is printed as one JSON object (NDJSON).'],
    async run(ctx) {
      const follow = booleanOption(ctx.values, 'follow');
      const attempt = parseAttempt(stringOption(ctx.values, 'attempt'));
      const taskName = stringOption(ctx.values, 'task');
      const api = ctx.api();
      // Reading the run first turns a wrong id into "not found" rather than an empty log.
      const run = await findRun(api, ctx.positionals[0]!);
      if (attempt !== undefined && attempt > run.attempt)
        throw new UsageError(`run ${run.name} has ${run.attempt} attempt${run.attempt === 1 ? '' : 's'} so far, not ${attempt}`);
      const task = taskName === undefined ? null : new TaskLines(api, run, taskName);
      if (task && !follow && (await task.refresh()) === 0)
        throw new CliError(
          `run ${run.name} has no task runs named "${taskName}" (see outpost runs tasks ${run.name})`,
          EXIT.failed,
        );
      const select = async (lines: LogLine[]) => {
        const ofAttempt = attempt === undefined ? lines : lines.filter((l) => l.attempt === attempt);
        return task ? task.select(ofAttempt) : ofAttempt;
      };
      const result = await followLogs(api, run.id, {
        follow,
        print: (line, task) => ctx.out(ctx.json ? JSON.stringify(line) : formatLogLine(line, task)),
        ...(attempt !== undefined || task ? { select } : {}),
        ...(follow ? { signal: interruptSignal(ctx.interrupts) } : {}),
      });
      if (result.kind === 'interrupted') return 130;
      if (follow && result.run) ctx.err(`run ${result.run.name} ended ${stateColor(ctx.color.err, result.run.state.type)}`);
      return EXIT.ok;
    },
  };
}

export const logs = logsCommand('logs');
export const runsLogs = logsCommand('runs logs');

function parseAttempt(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--attempt must be a whole number from 1, got "${raw}"`);
  return n;
}

/**
 * Which log lines a task name owns. Lines carry a task-run id, not a name, so the task runs of
 * that name are read once, and again only when a line names a task run not seen yet: a task run
 * is stored before any line that refers to it, so after a read an unknown id is another task's.
 */
class TaskLines {
  private readonly named = new Set<string>();
  private readonly others = new Set<string>();

  constructor(
    private readonly api: Api,
    private readonly run: FlowRun,
    private readonly name: string,
  ) {}

  /** Reads the run's task runs of the name; returns how many there are. */
  async refresh(): Promise<number> {
    let cursor: string | null = null;
    do {
      const page: { items: { id: string }[]; nextCursor: string | null } = await this.api.call(
        'taskRunsList',
        { params: { id: this.run.id }, query: { name: this.name, limit: TASK_PAGE, ...(cursor ? { cursor } : {}) } },
        `cannot list the task runs of run ${this.run.name}`,
      );
      for (const t of page.items) this.named.add(t.id);
      cursor = page.nextCursor;
    } while (cursor);
    return this.named.size;
  }

  async select(lines: LogLine[]): Promise<LogLine[]> {
    const unseen = (id: string) => !this.named.has(id) && !this.others.has(id);
    if (lines.some((l) => l.taskRunId !== null && unseen(l.taskRunId))) {
      await this.refresh();
      for (const l of lines) if (l.taskRunId !== null && !this.named.has(l.taskRunId)) this.others.add(l.taskRunId);
    }
    return lines.filter((l) => l.taskRunId !== null && this.named.has(l.taskRunId));
  }
}
