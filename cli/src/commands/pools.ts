import type { Command } from '../command.js';
import { stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, shortTime, table } from '../output.js';

export const poolsLs: Command = {
  name: 'pools ls',
  summary: 'List work pools',
  async run(ctx) {
    const { items } = await ctx.api().call('poolsList', {}, 'cannot list work pools');
    if (ctx.json) {
      ctx.out(json(items));
      return EXIT.ok;
    }
    if (items.length === 0) {
      ctx.err('no work pools (create one with `outpost pools create <name>`)');
      return EXIT.ok;
    }
    const rows = items.map((p) => [
      p.name,
      p.status === 'READY' ? 'ready' : p.status === 'NOT_READY' ? 'no worker' : p.paused ? 'paused' : 'active',
      p.concurrencyLimit === null ? '-' : String(p.concurrencyLimit),
      shortTime(p.createdAt),
      p.description ?? '',
    ]);
    for (const line of table(['POOL', 'STATUS', 'LIMIT', 'CREATED (UTC)', 'DESCRIPTION'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};

export const poolsCreate: Command = {
  name: 'pools create',
  args: '<name>',
  summary: 'Create a work pool (with its default queue)',
  positionals: { min: 1, max: 1 },
  options: {
    'concurrency-limit': { type: 'string', placeholder: '<n>', description: 'at most n runs of the pool at once' },
    description: { type: 'string', placeholder: '<text>', description: 'what the pool is for' },
  },
  async run(ctx) {
    const name = ctx.positionals[0]!;
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
        },
      },
      `cannot create work pool ${name}`,
    );
    if (ctx.json) ctx.out(json(pool));
    else
      ctx.out(
        `created work pool ${pool.name}${pool.concurrencyLimit === null ? '' : ` (concurrency limit ${pool.concurrencyLimit})`}`,
      );
    return EXIT.ok;
  },
};

function poolPause(paused: boolean): Command {
  return {
    name: paused ? 'pools pause' : 'pools resume',
    args: '<pool>',
    summary: paused ? 'Pause a work pool: its runs wait and no worker claims them' : 'Resume a paused work pool',
    positionals: { min: 1, max: 1 },
    async run(ctx) {
      const name = ctx.positionals[0]!;
      const pool = await ctx
        .api()
        .call(
          'poolsUpdate',
          { params: { pool: name }, body: { paused } },
          `cannot ${paused ? 'pause' : 'resume'} work pool ${name}`,
        );
      if (ctx.json) ctx.out(json(pool));
      else ctx.out(`${paused ? 'paused' : 'resumed'} work pool ${pool.name}`);
      return EXIT.ok;
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
  summary: "Change a work pool's concurrency limit and GPU quotas",
  positionals: { min: 1, max: 1 },
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
  },
  notes: ['Example: outpost pools update gpu --gpu-quota 4 --gpu-quota-tag team:vision=2'],
  async run(ctx) {
    const name = ctx.positionals[0]!;
    const body: {
      concurrencyLimit?: number | null;
      gpuQuota?: number | null;
      gpuQuotaByTag?: Record<string, number>;
      description?: string;
    } = {};
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
    if (Object.keys(body).length === 0) {
      throw new UsageError('nothing to change: give --gpu-quota, --gpu-quota-tag, --concurrency-limit or --description');
    }
    const pool = await ctx.api().call('poolsUpdate', { params: { pool: name }, body }, `cannot update work pool ${name}`);
    if (ctx.json) ctx.out(json(pool));
    else {
      const tags = Object.entries(pool.gpuQuotaByTag ?? {}).map(([tag, n]) => `${tag}=${n}`);
      ctx.out(
        `updated work pool ${pool.name}: GPU quota ${pool.gpuQuota ?? 'none'}${tags.length ? `, per tag ${tags.join(', ')}` : ''}, concurrency limit ${pool.concurrencyLimit ?? 'none'}`,
      );
    }
    return EXIT.ok;
  },
};
