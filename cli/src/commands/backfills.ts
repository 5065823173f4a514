import type { Backfill, JsonObject } from '@outpost/sdk/contracts';
import { MAX_PAGE_SIZE, StateType } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, shortTime, table } from '../output.js';
import { buildParameters } from '../params.js';
import { DEFAULT_LIST_LIMIT, findDeployment, parseLimit, requireUuid } from '../resolve.js';
import { parseTime } from '../times.js';

export const backfillsCreate: Command = {
  name: 'backfills create',
  args: '<flow/deployment>',
  summary: 'Create a run for every time of a schedule in [--start, --end), a few at a time',
  positionals: { min: 1, max: 1 },
  options: {
    start: { type: 'string', placeholder: '<when>', description: 'the first time (included): ISO, or words like "last monday"' },
    end: { type: 'string', placeholder: '<when>', description: 'the end (excluded): ISO, or words like "today 00:00"' },
    schedule: { type: 'string', placeholder: '<slug>', description: "whose times to use (default: the deployment's first)" },
    'max-concurrent': { type: 'string', placeholder: '<n>', description: 'at most n of its runs active at once (default 1)' },
    param: {
      type: 'string',
      multiple: true,
      short: 'p',
      placeholder: '<key=value>',
      description: "a parameter over the deployment's and the schedule's (value read as JSON when valid)",
    },
    'params-json': { type: 'string', placeholder: '<json>', description: 'all parameters as one JSON object (--param wins)' },
  },
  notes: ['Example: outpost backfills create etl/nightly --start 2026-11-01 --end 2026-11-08 --max-concurrent 2'],
  async run(ctx) {
    const rawStart = stringOption(ctx.values, 'start');
    const rawEnd = stringOption(ctx.values, 'end');
    if (rawStart === undefined || rawEnd === undefined) throw new UsageError('a backfill needs --start and --end');
    const now = new Date();
    const start = parseTime(dateOnly(rawStart), '--start', now, { future: false });
    const end = parseTime(dateOnly(rawEnd), '--end', now, { future: false });
    if (start >= end) throw new UsageError(`--end (${end.toISOString()}) must be after --start (${start.toISOString()})`);
    const rawMax = stringOption(ctx.values, 'max-concurrent');
    const maxConcurrent = rawMax === undefined ? undefined : parseLimit(rawMax, 1, 1000, '--max-concurrent');
    const parameters = buildParameters(stringOption(ctx.values, 'params-json'), stringList(ctx.values, 'param')) as JsonObject;
    const schedule = stringOption(ctx.values, 'schedule');
    const ref = ctx.positionals[0]!;
    const api = ctx.api();
    const deployment = await findDeployment(api, ref);
    const backfill = await api.call(
      'backfillsCreate',
      {
        params: { id: deployment.id },
        body: {
          start: start.toISOString(),
          end: end.toISOString(),
          ...(schedule ? { schedule } : {}),
          ...(maxConcurrent ? { maxConcurrent } : {}),
          ...(Object.keys(parameters).length ? { parameters } : {}),
        },
      },
      `cannot backfill ${ref}`,
    );
    if (ctx.json) ctx.out(json(backfill));
    else {
      ctx.err(
        `backfill of ${ref} (schedule ${backfill.scheduleSlug}) created ${backfill.runCount} run${backfill.runCount === 1 ? '' : 's'} from ${shortTime(backfill.start)} to ${shortTime(backfill.end)} UTC, ${backfill.maxConcurrent} at a time`,
      );
      ctx.out(backfill.id);
    }
    return EXIT.ok;
  },
};

export const backfillsLs: Command = {
  name: 'backfills ls',
  args: '<flow/deployment>',
  summary: "A deployment's backfills, newest first, with their runs by state",
  positionals: { min: 1, max: 1 },
  options: {
    limit: {
      type: 'string',
      placeholder: '<n>',
      description: `at most n backfills (1–${MAX_PAGE_SIZE}, default ${DEFAULT_LIST_LIMIT})`,
    },
  },
  async run(ctx) {
    const limit = parseLimit(stringOption(ctx.values, 'limit'), DEFAULT_LIST_LIMIT);
    const ref = ctx.positionals[0]!;
    const api = ctx.api();
    const deployment = await findDeployment(api, ref);
    const page = await api.call(
      'backfillsList',
      { params: { id: deployment.id }, query: { limit } },
      `cannot list the backfills of ${ref}`,
    );
    if (ctx.json) {
      ctx.out(json(page.items));
      return EXIT.ok;
    }
    if (page.items.length === 0) {
      ctx.err(`deployment ${ref} has no backfills`);
      return EXIT.ok;
    }
    const rows = page.items.map((b) => [
      b.id,
      b.scheduleSlug,
      b.status,
      `${shortTime(b.start)} → ${shortTime(b.end)}`,
      progress(b),
    ]);
    for (const line of table(['ID', 'SCHEDULE', 'STATUS', 'RANGE (UTC)', 'RUNS'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};

export const backfillsGet: Command = {
  name: 'backfills get',
  args: '<backfill-id>',
  summary: 'Show one backfill and its runs by state',
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const id = requireUuid(ctx.positionals[0]!, 'the backfill');
    const b = await ctx.api().call('backfillsGet', { params: { id } }, `cannot get backfill ${id}`);
    if (ctx.json) ctx.out(json(b));
    else for (const line of describe(b)) ctx.out(line);
    return EXIT.ok;
  },
};

export const backfillsCancel: Command = {
  name: 'backfills cancel',
  args: '<backfill-id>',
  summary: 'Cancel a backfill: its runs not yet started are cancelled, running ones finish',
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const id = requireUuid(ctx.positionals[0]!, 'the backfill');
    const b = await ctx.api().call('backfillsCancel', { params: { id } }, `cannot cancel backfill ${id}`);
    if (ctx.json) ctx.out(json(b));
    else ctx.out(`backfill ${b.id} is ${b.status}: ${progress(b)}`);
    return EXIT.ok;
  },
};

/** `2026-11-01` alone means its midnight in the machine's zone, which chrono reads as noon. */
function dateOnly(raw: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(raw.trim()) ? `${raw.trim()}T00:00` : raw;
}

/** `8 runs: 3 COMPLETED, 1 RUNNING, 4 SCHEDULED`, the states with runs only. */
function progress(b: Backfill): string {
  const parts = StateType.options.filter((s) => (b.counts[s] ?? 0) > 0).map((s) => `${b.counts[s]} ${s}`);
  return `${b.runCount} run${b.runCount === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

function describe(b: Backfill): string[] {
  const rows: [string, string][] = [
    ['id', b.id],
    ['schedule', b.scheduleSlug],
    ['status', b.status],
    ['range', `${shortTime(b.start)} → ${shortTime(b.end)} UTC`],
    ['max concurrent', String(b.maxConcurrent)],
    ['parameters', JSON.stringify(b.parameters)],
    ['runs', progress(b)],
    ['created', shortTime(b.createdAt)],
  ];
  if (b.cancelledAt) rows.push(['cancelled', shortTime(b.cancelledAt)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${v}`);
}
