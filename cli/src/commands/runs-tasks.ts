import type { StateType, TaskRun, TaskRunPageResponse, TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { formatDuration, StateType as StateTypes } from '@outpost/sdk/contracts';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, shortTime, table } from '../output.js';
import { findRun, parseLimit } from '../resolve.js';
import { parseStates } from './runs.js';

/** The most the list route returns at once. */
const PAGE = 1000;
const MAX_LIMIT = 10_000_000;

export const runsTasks: Command = {
  name: 'runs tasks',
  args: '<run>',
  summary: "List a run's task runs, oldest first, or count them by state and task name",
  options: {
    state: {
      type: 'string',
      multiple: true,
      placeholder: '<STATE[,STATE]>',
      description: 'only task runs in these states, e.g. FAILED,CRASHED',
    },
    name: { type: 'string', placeholder: '<task>', description: 'only task runs of this task name' },
    limit: { type: 'string', placeholder: '<n>', description: 'at most n task runs (default: every one)' },
    summary: { type: 'boolean', description: 'counts by state and by task name instead of the task runs' },
  },
  notes: [
    `Reads ${PAGE.toLocaleString('en-US')} task runs a request and prints each page as it arrives; with --json, one JSON object a line.`,
    'With --summary --json, the summary as one JSON object.',
  ],
  async run(ctx) {
    const states = parseStates(stringList(ctx.values, 'state'));
    const name = stringOption(ctx.values, 'name');
    const rawLimit = stringOption(ctx.values, 'limit');
    if (booleanOption(ctx.values, 'summary')) {
      if (states.length > 0 || name !== undefined || rawLimit !== undefined)
        throw new UsageError('--summary counts every task run of the run: it takes no --state, --name or --limit');
      return printSummary(ctx, (await findRun(ctx.api(), ctx.positionals[0]!)).id);
    }
    const limit = parseLimit(rawLimit, MAX_LIMIT, MAX_LIMIT);
    const api = ctx.api();
    const { id } = await findRun(api, ctx.positionals[0]!);
    const write: (items: TaskRun[], now: number) => void = ctx.json
      ? (items) => {
          for (const t of items) ctx.out(JSON.stringify(t));
        }
      : tableWriter(ctx);
    const now = Date.now();
    let printed = 0;
    let cursor: string | null = null;
    do {
      const page: TaskRunPageResponse = await api.call(
        'taskRunsList',
        {
          params: { id },
          query: {
            limit: Math.min(PAGE, limit - printed),
            ...(cursor ? { cursor } : {}),
            ...(states.length ? { state: states.join(',') } : {}),
            ...(name ? { name } : {}),
          },
        },
        `cannot list the task runs of run ${id}`,
      );
      write(page.items, now);
      printed += page.items.length;
      cursor = page.nextCursor;
    } while (cursor && printed < limit);
    if (printed === 0) ctx.err(states.length || name ? 'no task runs match' : 'no task runs');
    return EXIT.ok;
  },
};

/**
 * Prints pages of task runs as one table: the column widths come from the first page, so rows
 * are printed as they arrive instead of after 100,000 of them were read; a longer cell later only
 * pushes its own line.
 */
function tableWriter(ctx: CommandContext): (items: TaskRun[], now: number) => void {
  const header = ['NAME', 'KEY', 'STATE', 'DURATION', 'RUNS'];
  let widths: number[] | null = null;
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths?.[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return (items, now) => {
    if (items.length === 0) return;
    const rows = items.map((t) => [t.name, t.taskKey, stateLabel(t), duration(t, now), String(t.runCount)]);
    if (!widths) {
      widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
      ctx.out(line(header));
    }
    for (const r of rows) ctx.out(line(r));
  };
}

async function printSummary(ctx: CommandContext, id: string): Promise<number> {
  const summary: TaskRunSummaryResponse = await ctx
    .api()
    .call('taskRunsSummary', { params: { id } }, `cannot summarise the task runs of run ${id}`);
  if (ctx.json) {
    ctx.out(json(summary));
    return EXIT.ok;
  }
  if (summary.total === 0) {
    ctx.err('no task runs');
    return EXIT.ok;
  }
  const present = StateTypes.options.filter((s: StateType) => (summary.byState[s] ?? 0) > 0);
  ctx.out(`${summary.total} task runs`);
  for (const line of table(
    ['STATE', 'COUNT'],
    present.map((s) => [s, String(summary.byState[s] ?? 0)]),
  ))
    ctx.out(line);
  ctx.out('');
  const rows = summary.byName.map((n) => [
    n.name,
    String(n.total),
    ...present.map((s) => String(n.byState[s] ?? 0)),
    n.meanMs === null ? '-' : formatDuration(n.meanMs, '-'),
    n.maxMs === null ? '-' : formatDuration(n.maxMs, '-'),
    shortTime(n.firstStart),
    shortTime(n.lastEnd),
  ]);
  for (const line of table(['NAME', 'TOTAL', ...present, 'MEAN', 'MAX', 'FIRST START (UTC)', 'LAST END (UTC)'], rows))
    ctx.out(line);
  return EXIT.ok;
}

function stateLabel(t: TaskRun): string {
  return t.state.name.toUpperCase() === t.state.type ? t.state.type : `${t.state.type} (${t.state.name})`;
}

/** Start to end; a task run still going counts to now and says so. */
function duration(t: TaskRun, now: number): string {
  if (!t.startTime) return '-';
  const start = Date.parse(t.startTime);
  if (!t.endTime) return `${formatDuration(now - start, '-')} so far`;
  return formatDuration(Date.parse(t.endTime) - start, '-');
}
