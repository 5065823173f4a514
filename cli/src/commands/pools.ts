import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DEFAULT_DISCONNECTED_TOLERANCE_SECONDS, type WorkerSilencePolicy, type WorkPool } from '@outpost/sdk/contracts';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import type { Command, CommandContext } from '../command.js';
import { stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime } from '../output.js';

/** A batch/v1 Job manifest from a YAML or JSON file (`-` reads stdin); the API validates it. */
function readJobTemplate(file: string, cwd: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : path.resolve(cwd, file), 'utf8');
  } catch (error) {
    throw new UsageError(
      `cannot read --base-job-template ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  let template: unknown;
  try {
    // JSON is YAML, so one parser reads both.
    template = parseYaml(text);
  } catch (error) {
    throw new UsageError(`${file} is not valid YAML or JSON: ${(error as Error).message.split('\n')[0]}`);
  }
  if (typeof template !== 'object' || template === null || Array.isArray(template)) {
    throw new UsageError(`${file} must hold one Kubernetes Job manifest (apiVersion: batch/v1, kind: Job)`);
  }
  return template as Record<string, unknown>;
}

const poolType = (pool: WorkPool) => pool.type ?? 'process';

const TOLERANCE = /^(\d+)(s|m|h|d)?$/;
const UNIT_SECONDS = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `--disconnected-tolerance`: `forever`, or a whole number of seconds, minutes, hours or days (`90s`, `10m`, `2h`, `1d`). */
function tolerance(raw: string): number | null {
  if (raw === 'forever') return null;
  const match = TOLERANCE.exec(raw.trim());
  if (!match) throw new UsageError(`--disconnected-tolerance takes forever or a duration like 90s, 10m, 2h or 1d, got "${raw}"`);
  return Number(match[1]) * UNIT_SECONDS[(match[2] ?? 's') as keyof typeof UNIT_SECONDS];
}

function silencePolicy(raw: string): WorkerSilencePolicy {
  if (raw !== 'retry' && raw !== 'wait') throw new UsageError(`--on-worker-silence must be retry or wait, got "${raw}"`);
  return raw;
}

/** The silence options of `pools create` and `pools update`, as request fields. */
function silenceFields(ctx: CommandContext): {
  onWorkerSilence?: WorkerSilencePolicy;
  disconnectedToleranceSeconds?: number | null;
} {
  const policy = stringOption(ctx.values, 'on-worker-silence');
  const raw = stringOption(ctx.values, 'disconnected-tolerance');
  return {
    ...(policy === undefined ? {} : { onWorkerSilence: silencePolicy(policy) }),
    ...(raw === undefined ? {} : { disconnectedToleranceSeconds: tolerance(raw) }),
  };
}

function describeTolerance(seconds: number | null | undefined): string {
  if (seconds === null) return 'forever';
  const s = seconds ?? DEFAULT_DISCONNECTED_TOLERANCE_SECONDS;
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3600],
    ['m', 60],
  ] as const)
    if (s >= size && s % size === 0) return `${s / size}${unit}`;
  return `${s}s`;
}

const SILENCE_OPTIONS = {
  'on-worker-silence': {
    type: 'string',
    placeholder: 'retry|wait',
    description: 'when a worker falls silent: retry its runs after lease + grace (default), or wait out the tolerance first',
  },
  'disconnected-tolerance': {
    type: 'string',
    placeholder: '<duration|forever>',
    description: 'how long a worker that cannot reach the API keeps running its runs (default 10m)',
  },
} as const;

function printPool(ctx: CommandContext, pool: WorkPool): void {
  ctx.out(`${pool.name} (${pool.id})`);
  ctx.out(`  type: ${poolType(pool)}`);
  ctx.out(`  status: ${pool.paused ? 'paused' : pool.status === 'READY' ? 'ready' : 'no worker'}`);
  ctx.out(`  concurrency limit: ${pool.concurrencyLimit ?? '-'}`);
  ctx.out(
    `  when a worker falls silent: ${pool.onWorkerSilence === 'wait' ? 'wait for it' : 'retry its runs'} (disconnected tolerance ${describeTolerance(pool.disconnectedToleranceSeconds)})`,
  );
  if (pool.description) ctx.out(`  description: ${pool.description}`);
  if (poolType(pool) === 'kubernetes') {
    if (!pool.baseJobTemplate) ctx.out('  base job template: the default');
    else {
      ctx.out('  base job template:');
      // The API stores it as jsonb, which keeps no key order: lead with the keys a manifest starts with.
      const order = ['apiVersion', 'kind', 'metadata', 'spec'];
      const rank = (key: string) => (order.includes(key) ? order.indexOf(key) : order.length);
      const manifest = Object.fromEntries(Object.entries(pool.baseJobTemplate).sort(([a], [b]) => rank(a) - rank(b)));
      for (const line of toYaml(manifest).trimEnd().split('\n')) ctx.out(`    ${line}`);
    }
  }
  ctx.out(`  created: ${shortTime(pool.createdAt)}`);
}

export const poolsLs: Command = {
  name: 'pools ls',
  summary: 'List work pools',
  async run(ctx) {
    const { items } = await ctx.api().call('poolsList', {}, 'cannot list work pools');
    return printList(
      ctx,
      items,
      ['POOL', 'TYPE', 'STATUS', 'LIMIT', 'CREATED (UTC)', 'DESCRIPTION'],
      (p) => [
        p.name,
        poolType(p),
        p.status === 'READY' ? 'ready' : p.status === 'NOT_READY' ? 'no worker' : p.paused ? 'paused' : 'active',
        p.concurrencyLimit === null ? '-' : String(p.concurrencyLimit),
        shortTime(p.createdAt),
        p.description ?? '',
      ],
      'no work pools (create one with `outpost pools create <name>`)',
    );
  },
};

export const poolsCreate: Command = {
  name: 'pools create',
  args: '<name>',
  summary: 'Create a work pool (with its default queue)',
  options: {
    'concurrency-limit': { type: 'string', placeholder: '<n>', description: 'at most n runs of the pool at once' },
    description: { type: 'string', placeholder: '<text>', description: 'what the pool is for' },
    type: { type: 'string', placeholder: 'process|kubernetes', description: 'how its workers run runs (default process)' },
    'base-job-template': {
      type: 'string',
      placeholder: '<file>',
      description: 'kubernetes pools: the batch/v1 Job (YAML or JSON) each run starts from',
    },
    ...SILENCE_OPTIONS,
  },
  notes: [
    'outpost pools create gpu --type kubernetes --base-job-template job.yaml',
    'outpost pools create etl --on-worker-silence wait --disconnected-tolerance 30m',
    'The template is checked against the Kubernetes schemas; Outpost owns retries, so spec.backoffLimit is 0 or absent.',
  ],
  async run(ctx) {
    const name = ctx.positionals[0]!;
    const type = stringOption(ctx.values, 'type');
    if (type !== undefined && type !== 'process' && type !== 'kubernetes') {
      throw new UsageError(`--type must be process or kubernetes, got "${type}"`);
    }
    const templateFile = stringOption(ctx.values, 'base-job-template');
    if (templateFile !== undefined && type !== 'kubernetes') {
      throw new UsageError('--base-job-template needs --type kubernetes');
    }
    const baseJobTemplate = templateFile === undefined ? undefined : readJobTemplate(templateFile, ctx.cwd);
    const rawLimit = stringOption(ctx.values, 'concurrency-limit');
    let concurrencyLimit: number | undefined;
    if (rawLimit !== undefined) {
      concurrencyLimit = Number(rawLimit);
      if (!Number.isInteger(concurrencyLimit) || concurrencyLimit < 0) {
        throw new UsageError(`--concurrency-limit must be a whole number ≥ 0, got "${rawLimit}"`);
      }
    }
    const description = stringOption(ctx.values, 'description');
    const pool = await ctx.api().call(
      'poolsCreate',
      {
        body: {
          name,
          ...(concurrencyLimit !== undefined ? { concurrencyLimit } : {}),
          ...(description ? { description } : {}),
          ...(type ? { type } : {}),
          ...(baseJobTemplate ? { baseJobTemplate } : {}),
          ...silenceFields(ctx),
        },
      },
      `cannot create work pool ${name}`,
    );
    if (ctx.json) ctx.out(json(pool));
    else {
      const details = [
        ...(poolType(pool) === 'kubernetes' ? ['kubernetes'] : []),
        ...(pool.concurrencyLimit === null ? [] : [`concurrency limit ${pool.concurrencyLimit}`]),
      ];
      ctx.out(`created work pool ${pool.name}${details.length ? ` (${details.join(', ')})` : ''}`);
    }
    return EXIT.ok;
  },
};

export const poolsGet: Command = {
  name: 'pools get',
  args: '<pool>',
  summary: 'Show a work pool: its type, status, limit and, for Kubernetes pools, the base job template',
  async run(ctx) {
    const name = ctx.positionals[0]!;
    const pool = await ctx.api().call('poolsGet', { params: { pool: name } }, `cannot get work pool ${name}`);
    if (ctx.json) ctx.out(json(pool));
    else printPool(ctx, pool);
    return EXIT.ok;
  },
};

function poolPause(paused: boolean): Command {
  return {
    name: paused ? 'pools pause' : 'pools resume',
    args: '<pool>',
    summary: paused ? 'Pause a work pool: its runs wait and no worker claims them' : 'Resume a paused work pool',
    async run(ctx) {
      const name = ctx.positionals[0]!;
      const pool = await ctx
        .api()
        .call(
          'poolsUpdate',
          { params: { pool: name }, body: { paused } },
          `cannot ${paused ? 'pause' : 'resume'} work pool ${name}`,
        );
      return ctx.result(pool, `${paused ? 'paused' : 'resumed'} work pool ${pool.name}`);
    },
  };
}

export const poolsPause = poolPause(true);
export const poolsResume = poolPause(false);

function wholeNumber(flag: string, raw: string): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isInteger(n) || n < 0)
    throw new UsageError(`${flag} must be a whole number ≥ 0, got "${raw}"`);
  return n;
}

export const poolsUpdate: Command = {
  name: 'pools update',
  args: '<pool>',
  summary: "Change a work pool's concurrency limit, GPU quotas, description or base job template",
  options: {
    'concurrency-limit': { type: 'string', placeholder: '<n|none>', description: 'at most n runs of the pool at once' },
    'gpu-quota': { type: 'string', placeholder: '<n|none>', description: "at most n GPUs assigned to the pool's runs at once" },
    'gpu-quota-tag': {
      type: 'string',
      multiple: true,
      placeholder: '<tag=n>',
      description: 'at most n GPUs for runs carrying the tag, repeatable; replaces the stored per-tag quotas',
    },
    description: { type: 'string', placeholder: '<text>', description: 'what the pool is for' },
    'base-job-template': {
      type: 'string',
      placeholder: '<file|default>',
      description: 'kubernetes pools: a new batch/v1 Job (YAML or JSON), or `default`',
    },
    ...SILENCE_OPTIONS,
  },
  notes: [
    'Example: outpost pools update gpu --gpu-quota 4 --gpu-quota-tag team:vision=2',
    'Example: outpost pools update default --disconnected-tolerance forever',
  ],
  async run(ctx) {
    const name = ctx.positionals[0]!;
    const body: {
      concurrencyLimit?: number | null;
      gpuQuota?: number | null;
      gpuQuotaByTag?: Record<string, number>;
      description?: string;
      baseJobTemplate?: Record<string, unknown> | null;
      onWorkerSilence?: WorkerSilencePolicy;
      disconnectedToleranceSeconds?: number | null;
    } = { ...silenceFields(ctx) };
    const limit = stringOption(ctx.values, 'concurrency-limit');
    if (limit !== undefined) body.concurrencyLimit = limit === 'none' ? null : wholeNumber('--concurrency-limit', limit);
    const quota = stringOption(ctx.values, 'gpu-quota');
    if (quota !== undefined) body.gpuQuota = quota === 'none' ? null : wholeNumber('--gpu-quota', quota);
    const tagQuotas = stringList(ctx.values, 'gpu-quota-tag');
    if (tagQuotas.length > 0) {
      body.gpuQuotaByTag = {};
      for (const entry of tagQuotas) {
        const at = entry.lastIndexOf('=');
        if (at <= 0) throw new UsageError(`--gpu-quota-tag takes tag=n (e.g. team:vision=2), got "${entry}"`);
        body.gpuQuotaByTag[entry.slice(0, at)] = wholeNumber('--gpu-quota-tag', entry.slice(at + 1));
      }
    }
    const description = stringOption(ctx.values, 'description');
    if (description !== undefined) body.description = description;
    const templateFile = stringOption(ctx.values, 'base-job-template');
    if (templateFile !== undefined) {
      body.baseJobTemplate = templateFile === 'default' ? null : readJobTemplate(templateFile, ctx.cwd);
    }
    if (Object.keys(body).length === 0) {
      throw new UsageError(
        'nothing to change: give --gpu-quota, --gpu-quota-tag, --concurrency-limit, --description, --base-job-template, --on-worker-silence or --disconnected-tolerance',
      );
    }
    const pool = await ctx.api().call('poolsUpdate', { params: { pool: name }, body }, `cannot update work pool ${name}`);
    if (ctx.json) ctx.out(json(pool));
    else {
      const tags = Object.entries(pool.gpuQuotaByTag ?? {}).map(([tag, n]) => `${tag}=${n}`);
      ctx.out(
        `updated work pool ${pool.name}: GPU quota ${pool.gpuQuota ?? 'none'}${tags.length ? `, per tag ${tags.join(', ')}` : ''}, concurrency limit ${pool.concurrencyLimit ?? 'none'}, on worker silence ${pool.onWorkerSilence ?? 'retry'}, disconnected tolerance ${describeTolerance(pool.disconnectedToleranceSeconds)}`,
      );
    }
    return EXIT.ok;
  },
};
