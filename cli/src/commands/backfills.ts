import type { Backfill, BackfillPartition, BackfillPartitionStatus, BackfillStatus, JsonObject } from '@outpost/sdk/contracts';
import {
  BackfillPartitionStatus as BackfillPartitionStatusSchema,
  BackfillStatus as BackfillStatusSchema,
  MAX_PAGE_SIZE,
  StateType,
} from '@outpost/sdk/contracts';
import type { Api } from '../api.js';
import type { Command, CommandContext } from '../command.js';
import { booleanOption, stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, shortTime, table } from '../output.js';
import { everyItem } from '../pages.js';
import { buildParameters } from '../params.js';
import { DEFAULT_LIST_LIMIT, findDeployment, parseLimit, requireUuid } from '../resolve.js';
import { parseTime } from '../times.js';
import { partitionSelection } from './assets.js';

/*
 * `outpost backfills …`: backfills are lazy — the control plane creates their runs a few at a time,
 * at most --max-concurrent in flight — so these commands create one, follow its partitions, and
 * pause, resume, cancel or retry it.
 */

const selectionOptions = {
  start: {
    type: 'string',
    placeholder: '<when>',
    description: 'the schedule\'s first time (included): ISO, or words like "last monday"',
  },
  end: {
    type: 'string',
    placeholder: '<when>',
    description: 'the end of the time range (excluded): ISO, or words like "today 00:00"',
  },
  partition: {
    type: 'string',
    multiple: true,
    placeholder: '<key|first..last>',
    description: 'instead of a time range: a partition, or an inclusive range first..last',
  },
  'all-partitions': { type: 'boolean', description: 'instead of a time range: every partition the definition has now' },
} as const;

export const backfillsCreate: Command = {
  name: 'backfills create',
  args: '[<flow/deployment>]',
  summary: "Backfill a deployment's schedule (a time range or partitions) or assets (--asset), a few runs at a time",
  options: {
    ...selectionOptions,
    asset: {
      type: 'string',
      multiple: true,
      placeholder: '<key>',
      description: 'backfill these assets instead of a deployment (with --partition or --all-partitions)',
    },
    upstream: { type: 'boolean', description: 'with --asset: also everything upstream of them' },
    downstream: { type: 'boolean', description: 'with --asset: also everything downstream of them' },
    'single-run': { type: 'boolean', description: 'with --asset, for assets that accept ranges: one run over the whole range' },
    schedule: {
      type: 'string',
      placeholder: '<slug>',
      description: "whose times or partitions to use (default: the deployment's first)",
    },
    'max-concurrent': { type: 'string', placeholder: '<n>', description: 'at most n of its runs in flight at once (default 1)' },
    param: {
      type: 'string',
      multiple: true,
      short: 'p',
      placeholder: '<key=value>',
      description: "a parameter over the deployment's and the schedule's (value read as JSON when valid)",
    },
    'params-json': { type: 'string', placeholder: '<json>', description: 'all parameters as one JSON object (--param wins)' },
  },
  notes: [
    'Example: outpost backfills create etl/nightly --start 2026-11-01 --end 2026-11-08 --max-concurrent 2',
    'Example: outpost backfills create etl/daily --partition 2026-01-01..2026-12-31 --max-concurrent 4',
    'Example: outpost backfills create --asset features --upstream --all-partitions --max-concurrent 8',
  ],
  async run(ctx) {
    const assets = stringList(ctx.values, 'asset');
    const ref = ctx.positionals[0];
    if ((ref === undefined) === (assets.length === 0))
      throw new UsageError('backfill either a <flow/deployment> or --asset <key>');
    const rawMax = stringOption(ctx.values, 'max-concurrent');
    const maxConcurrent = rawMax === undefined ? undefined : parseLimit(rawMax, 1, 1000, '--max-concurrent');
    const partitions = partitionSelection(stringList(ctx.values, 'partition'), booleanOption(ctx.values, 'all-partitions'));
    const timed = stringOption(ctx.values, 'start') !== undefined || stringOption(ctx.values, 'end') !== undefined;
    if (timed && partitions) throw new UsageError('give a time range (--start, --end) or partitions, not both');
    const api = ctx.api();
    let backfill: Backfill;
    let what: string;
    // Stopped below, or by the CLI's error path when a call throws.
    const spinner = ctx.spinner('creating the backfill…');
    if (ref === undefined) {
      if (!partitions) throw new UsageError('an asset backfill needs --partition or --all-partitions');
      for (const flag of ['start', 'end', 'schedule', 'params-json'])
        if (stringOption(ctx.values, flag) !== undefined)
          throw new UsageError(`--${flag} is for deployment backfills, not --asset`);
      if (stringList(ctx.values, 'param').length) throw new UsageError('--param is for deployment backfills, not --asset');
      what = assets.join(', ');
      backfill = await api.call(
        'backfillsCreateForAssets',
        {
          body: {
            assets,
            partitions,
            ...(booleanOption(ctx.values, 'upstream') ? { upstream: true } : {}),
            ...(booleanOption(ctx.values, 'downstream') ? { downstream: true } : {}),
            ...(booleanOption(ctx.values, 'single-run') ? { singleRun: true } : {}),
            ...(maxConcurrent ? { maxConcurrent } : {}),
          },
        },
        `cannot backfill ${what}`,
      );
    } else {
      for (const flag of ['upstream', 'downstream', 'single-run'])
        if (booleanOption(ctx.values, flag)) throw new UsageError(`--${flag} is for asset backfills (--asset)`);
      what = ref;
      const selection = partitions ? { partitions } : timeRange(ctx);
      const parameters = buildParameters(stringOption(ctx.values, 'params-json'), stringList(ctx.values, 'param')) as JsonObject;
      const schedule = stringOption(ctx.values, 'schedule');
      const deployment = await findDeployment(api, ref);
      backfill = await api.call(
        'backfillsCreate',
        {
          params: { id: deployment.id },
          body: {
            ...selection,
            ...(schedule ? { schedule } : {}),
            ...(maxConcurrent ? { maxConcurrent } : {}),
            ...(Object.keys(parameters).length ? { parameters } : {}),
          },
        },
        `cannot backfill ${ref}`,
      );
    }
    spinner.stop();
    if (ctx.json) ctx.out(json(backfill));
    else {
      const p = backfill.partitions;
      ctx.err(
        `backfill of ${what}${backfill.scheduleSlug ? ` (schedule ${backfill.scheduleSlug})` : ''} covers ${coverage(backfill)}: ` +
          `${backfill.runCount} run${backfill.runCount === 1 ? '' : 's'} started, ${backfill.maxConcurrent} at a time` +
          (p.BLOCKED ? `, ${p.BLOCKED} blocked` : ''),
      );
      ctx.err(`dashboard: ${ctx.color.err.cyan(api.deploymentUrl(backfill.deploymentId))}`);
      ctx.out(backfill.id);
    }
    return EXIT.ok;
  },
};

function timeRange(ctx: CommandContext): { start: string; end: string } {
  const rawStart = stringOption(ctx.values, 'start');
  const rawEnd = stringOption(ctx.values, 'end');
  if (rawStart === undefined || rawEnd === undefined)
    throw new UsageError('a backfill needs --start and --end, or --partition or --all-partitions');
  const now = new Date();
  const start = parseTime(dateOnly(rawStart), '--start', now, { future: false });
  const end = parseTime(dateOnly(rawEnd), '--end', now, { future: false });
  if (start >= end) throw new UsageError(`--end (${end.toISOString()}) must be after --start (${start.toISOString()})`);
  return { start: start.toISOString(), end: end.toISOString() };
}

async function listBackfills(ctx: CommandContext): Promise<number> {
  const limit = parseLimit(stringOption(ctx.values, 'limit'), DEFAULT_LIST_LIMIT);
  const rawStatus = stringOption(ctx.values, 'status');
  const status = rawStatus?.toUpperCase();
  if (status !== undefined && !BackfillStatusSchema.safeParse(status).success)
    throw new UsageError(`--status must be one of ${BackfillStatusSchema.options.join(', ')}, got "${rawStatus}"`);
  const ref = ctx.positionals[0];
  const api = ctx.api();
  const deployment = ref === undefined ? null : await findDeployment(api, ref);
  const page = await api.call(
    'backfillsListAll',
    {
      query: {
        limit,
        ...(deployment ? { deploymentId: deployment.id } : {}),
        ...(status ? { status: status as BackfillStatus } : {}),
      },
    },
    ref ? `cannot list the backfills of ${ref}` : 'cannot list backfills',
  );
  if (ctx.json) {
    ctx.out(json(page.items));
    return EXIT.ok;
  }
  if (page.items.length === 0) {
    ctx.err(ref ? `deployment ${ref} has no backfills` : 'no backfills');
    return EXIT.ok;
  }
  const rows = page.items.map((b) => [b.id, target(b), b.status, coverage(b), progress(b)]);
  for (const line of table(['ID', 'TARGET', 'STATUS', 'COVERS', 'PROGRESS'], rows)) ctx.out(line);
  return EXIT.ok;
}

const listOptions = {
  status: {
    type: 'string',
    placeholder: '<status>',
    description: `only this status: ${BackfillStatusSchema.options.join(', ')}`,
  },
  limit: {
    type: 'string',
    placeholder: '<n>',
    description: `at most n backfills (1–${MAX_PAGE_SIZE}, default ${DEFAULT_LIST_LIMIT})`,
  },
} as const;

export const backfillsLs: Command = {
  name: 'backfills ls',
  args: '[<flow/deployment>]',
  summary: "The workspace's backfills (or a deployment's), newest first, with their progress",
  options: listOptions,
  run: listBackfills,
};

export const backfillsList: Command = { ...backfillsLs, name: 'backfills list', summary: 'Same as backfills ls' };

export const backfillsGet: Command = {
  name: 'backfills get',
  args: '<backfill-id>',
  summary: 'Show one backfill: what it covers, its partitions by status and its runs by state',
  async run(ctx) {
    const id = requireUuid(ctx.positionals[0]!, 'the backfill');
    const b = await ctx.api().call('backfillsGet', { params: { id } }, `cannot get backfill ${id}`);
    return ctx.result(b, describe(b));
  },
};

function control(
  name: 'pause' | 'resume' | 'cancel' | 'retry-failed',
  route: 'backfillsPause' | 'backfillsResume' | 'backfillsCancel' | 'backfillsRetryFailed',
  summary: string,
): Command {
  return {
    name: `backfills ${name}`,
    args: '<backfill-id>',
    summary,
    async run(ctx) {
      const id = requireUuid(ctx.positionals[0]!, 'the backfill');
      const b = await ctx.api().call(route, { params: { id } }, `cannot ${name.replace('-', ' ')} backfill ${id}`);
      return ctx.result(b, `backfill ${b.id} is ${b.status}: ${progress(b)}`);
    },
  };
}

export const backfillsPause = control('pause', 'backfillsPause', 'Pause a backfill: no new runs; runs in flight finish');
export const backfillsResume = control('resume', 'backfillsResume', 'Resume a paused backfill from where it stopped');
export const backfillsCancel = control(
  'cancel',
  'backfillsCancel',
  'Cancel a backfill: its runs not yet started are cancelled, running ones finish, no new ones start',
);
export const backfillsRetryFailed = control(
  'retry-failed',
  'backfillsRetryFailed',
  'Give every failed (or blocked) partition of a backfill a new run, a few at a time',
);

export const backfillsPartitions: Command = {
  name: 'backfills partitions',
  args: '<backfill-id>',
  summary: "A backfill's partitions that have a run (or were blocked), in order, with their status",
  options: {
    status: {
      type: 'string',
      placeholder: '<status>',
      description: `only this status: ${BackfillPartitionStatusSchema.options.join(', ')}`,
    },
    limit: { type: 'string', placeholder: '<n>', description: 'at most n partitions (1–100000, default 1000)' },
  },
  async run(ctx) {
    const id = requireUuid(ctx.positionals[0]!, 'the backfill');
    const limit = parseLimit(stringOption(ctx.values, 'limit'), 1_000, 100_000);
    const rawStatus = stringOption(ctx.values, 'status');
    const status = rawStatus?.toUpperCase();
    if (status !== undefined && !BackfillPartitionStatusSchema.safeParse(status).success)
      throw new UsageError(`--status must be one of ${BackfillPartitionStatusSchema.options.join(', ')}, got "${rawStatus}"`);
    const items = await partitionsOf(ctx.api(), id, status as BackfillPartitionStatus | undefined, limit);
    if (ctx.json) {
      ctx.out(json(items));
      return EXIT.ok;
    }
    if (items.length === 0) {
      ctx.err(`backfill ${id} has no partition${status ? ` ${status}` : ''} yet`);
      return EXIT.ok;
    }
    const rows = items.map((p) => [
      p.key,
      p.status + (p.requeued ? ' (re-queued)' : ''),
      String(p.runs),
      p.flowRunId ?? '-',
      p.message ?? '',
    ]);
    for (const line of table(['PARTITION', 'STATUS', 'RUNS', 'LATEST RUN', 'NOTE'], rows)) ctx.out(line.trimEnd());
    return EXIT.ok;
  },
};

function partitionsOf(
  api: Api,
  id: string,
  status: BackfillPartitionStatus | undefined,
  limit: number,
): Promise<BackfillPartition[]> {
  return everyItem(
    (cursor, have) =>
      api.call(
        'backfillsPartitions',
        {
          params: { id },
          query: { limit: Math.min(1_000, limit - have), ...(status ? { status } : {}), ...(cursor ? { cursor } : {}) },
        },
        `cannot read the partitions of backfill ${id}`,
      ),
    limit,
  );
}

/** `2026-11-01` alone means its midnight in the machine's zone, which chrono reads as noon. */
function dateOnly(raw: string): string {
  return /^\d{4}-\d{2}-\d{2}$/.test(raw.trim()) ? `${raw.trim()}T00:00` : raw;
}

function target(b: Backfill): string {
  if (b.target === 'assets') return (b.assets ?? []).join(', ');
  return b.scheduleSlug ? `schedule ${b.scheduleSlug}` : 'deployment';
}

/** What it covers: `2026-11-01 00:00:00 → 2026-11-08 00:00:00 UTC`, `2026-01-01..2026-12-31`, `3 keys`. */
function coverage(b: Backfill): string {
  const s = b.selection;
  const what =
    'times' in s
      ? `${shortTime(s.times.start)} → ${shortTime(s.times.end)} UTC`
      : 'range' in s
        ? `${s.range.start}..${s.range.end}`
        : s.keys.length <= 3 && b.partitions.total <= 3
          ? s.keys.join(', ')
          : `${b.partitions.total} keys`;
  return `${what} (${b.partitions.total} partition${b.partitions.total === 1 ? '' : 's'})`;
}

/** `12/40 done: 10 COMPLETED, 2 FAILED, 3 RUNNING, 25 not started`, the statuses with partitions only. */
function progress(b: Backfill): string {
  const p = b.partitions;
  const done = p.COMPLETED + p.FAILED + p.CANCELLED + p.BLOCKED;
  const parts = BackfillPartitionStatusSchema.options.filter((s) => p[s] > 0).map((s) => `${p[s]} ${s}`);
  if (p.notStarted > 0) parts.push(`${p.notStarted} not started`);
  return `${done}/${p.total} done${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** `8 runs: 3 COMPLETED, 1 RUNNING, 4 SCHEDULED`, the states with runs only. */
function runStates(b: Backfill): string {
  const parts = StateType.options.filter((s) => (b.counts[s] ?? 0) > 0).map((s) => `${b.counts[s]} ${s}`);
  return `${b.runCount} run${b.runCount === 1 ? '' : 's'}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

function describe(b: Backfill): string[] {
  const rows: [string, string][] = [
    ['id', b.id],
    ['target', b.target === 'assets' ? `assets ${target(b)}` : target(b)],
    ['status', b.message ? `${b.status}: ${b.message}` : b.status],
    ['covers', coverage(b)],
    ['single run', b.singleRun ? 'yes' : 'no'],
    ['max concurrent', String(b.maxConcurrent)],
    ['parameters', JSON.stringify(b.parameters)],
    ['partitions', progress(b)],
    ['runs', runStates(b)],
    ['created', shortTime(b.createdAt)],
  ];
  if (b.pausedAt) rows.push(['paused', shortTime(b.pausedAt)]);
  if (b.cancelledAt) rows.push(['cancelled', shortTime(b.cancelledAt)]);
  if (b.finishedAt) rows.push(['finished', shortTime(b.finishedAt)]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}  ${v}`);
}
