import { Role } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { stringList, stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime } from '../output.js';
import { requireUuid } from '../resolve.js';

export const keysCreate: Command = {
  name: 'keys create',
  args: '<name>',
  summary: 'Create an API key; the key is printed once',
  options: {
    role: { type: 'string', placeholder: '<role>', description: `one of ${Role.options.join(', ')} (required)` },
    pool: {
      type: 'string',
      multiple: true,
      placeholder: '<name>',
      description: 'for role worker: a pool it may poll (all when none)',
    },
    'expires-at': { type: 'string', placeholder: '<iso-time>', description: 'when the key stops working' },
  },
  async run(ctx) {
    const name = ctx.positionals[0]!;
    const roleRaw = stringOption(ctx.values, 'role');
    const role = Role.safeParse(roleRaw);
    if (!role.success)
      throw new UsageError(`--role must be one of ${Role.options.join(', ')}${roleRaw ? `, got "${roleRaw}"` : ''}`);
    const pools = stringList(ctx.values, 'pool');
    if (pools.length > 0 && role.data !== 'worker') throw new UsageError('--pool applies only to keys with --role worker');
    const expiresAt = stringOption(ctx.values, 'expires-at');
    const created = await ctx
      .api()
      .call(
        'apiKeysCreate',
        { body: { name, role: role.data, ...(pools.length ? { pools } : {}), ...(expiresAt ? { expiresAt } : {}) } },
        `cannot create API key ${name}`,
      );
    if (ctx.json) {
      ctx.out(json(created));
      return EXIT.ok;
    }
    ctx.err(`created API key ${created.apiKey.name} (${created.apiKey.role}, id ${created.apiKey.id}); it is shown only now:`);
    ctx.out(created.key);
    return EXIT.ok;
  },
};

export const keysLs: Command = {
  name: 'keys ls',
  summary: "List the workspace's API keys (never their secrets)",
  async run(ctx) {
    const { items } = await ctx.api().call('apiKeysList', {}, 'cannot list API keys');
    return printList(ctx, items, ['ID', 'NAME', 'ROLE', 'PREFIX', 'POOLS', 'STATUS', 'LAST USED (UTC)'], (k) => [
      k.id,
      k.name,
      k.role,
      `${k.prefix}…`,
      k.pools.join(',') || '-',
      k.revokedAt ? `revoked ${shortTime(k.revokedAt)}` : 'active',
      shortTime(k.lastUsedAt),
    ]);
  },
};

export const keysRevoke: Command = {
  name: 'keys revoke',
  args: '<key-id>',
  summary: 'Revoke an API key; calls with it fail from now on',
  async run(ctx) {
    const id = requireUuid(ctx.positionals[0]!, 'the key');
    const key = await ctx.api().call('apiKeysRevoke', { params: { id } }, `cannot revoke API key ${id}`);
    return ctx.result(key, `revoked API key ${key.name} (${key.id})`);
  },
};
