import { failureCode } from '@outpost/sdk/client';
import type { ConcurrencyLimit } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { UsageError } from '../errors.js';
import { printList } from '../output.js';

export const concurrencyLimitsLs: Command = {
  name: 'concurrency-limits ls',
  summary: 'List tag concurrency limits with the slots in use',
  async run(ctx) {
    const { items } = await ctx.api().call('concurrencyLimitsList', {}, 'cannot list concurrency limits');
    return printList(
      ctx,
      items,
      ['TAG', 'LIMIT', 'ACTIVE'],
      (l) => [l.tag, String(l.limit), String(l.active)],
      'no concurrency limits (set one with `outpost concurrency-limits set <tag> <limit>`)',
    );
  },
};

export const concurrencyLimitsSet: Command = {
  name: 'concurrency-limits set',
  args: '<tag> <limit>',
  summary: 'At most <limit> runs carrying <tag> active at once, across pools (creates or changes the limit)',
  notes: ['A limit of 0 holds every run with the tag back until it is raised or removed.'],
  async run(ctx) {
    const [tag, raw] = ctx.positionals as [string, string];
    const limit = Number(raw);
    if (!Number.isInteger(limit) || limit < 0 || limit > 100_000)
      throw new UsageError(`the limit must be a whole number from 0 to 100000, got "${raw}"`);
    const api = ctx.api();
    // Change it where it exists; create it where it does not.
    const existing = await api.attempt('concurrencyLimitsGet', { params: { tag } });
    const saved: ConcurrencyLimit =
      !existing.ok && failureCode(existing) === 'not_found'
        ? await api.call('concurrencyLimitsCreate', { body: { tag, limit } }, `cannot limit tag ${tag}`)
        : await api.call('concurrencyLimitsUpdate', { params: { tag }, body: { limit } }, `cannot limit tag ${tag}`);
    return ctx.result(
      saved,
      `tag ${saved.tag}: at most ${saved.limit} active run${saved.limit === 1 ? '' : 's'} (${saved.active} now)`,
    );
  },
};

export const concurrencyLimitsRm: Command = {
  name: 'concurrency-limits rm',
  args: '<tag>',
  summary: "Remove a tag's concurrency limit; runs waiting on it become claimable",
  async run(ctx) {
    const tag = ctx.positionals[0]!;
    const removed = await ctx.api().call('concurrencyLimitsDelete', { params: { tag } }, `cannot remove the limit of tag ${tag}`);
    return ctx.result(removed, `tag ${removed.tag} is no longer limited`);
  },
};
