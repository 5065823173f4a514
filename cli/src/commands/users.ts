import { MemberRole } from '@outpost/sdk/contracts';
import type { Command } from '../command.js';
import { stringOption } from '../command.js';
import { EXIT, UsageError } from '../errors.js';
import { json, printList, shortTime } from '../output.js';
import { requireUuid } from '../resolve.js';

function roleOption(raw: string | undefined): MemberRole {
  const role = MemberRole.safeParse(raw);
  if (!role.success) throw new UsageError(`--role must be one of ${MemberRole.options.join(', ')}${raw ? `, got "${raw}"` : ''}`);
  return role.data;
}

export const usersLs: Command = {
  name: 'users ls',
  summary: "List the workspace's people and their roles",
  async run(ctx) {
    const { items } = await ctx.api().call('membersList', {}, 'cannot list people');
    return printList(ctx, items, ['USER ID', 'EMAIL', 'NAME', 'ROLE', 'STATE', 'ACCOUNT', 'SIGN-IN', 'ADDED (UTC)'], (m) => [
      m.userId,
      m.email,
      m.name ?? '-',
      m.role,
      m.state,
      m.account,
      m.state === 'invited'
        ? '-'
        : [m.hasPassword ? 'password' : null, m.sso ? 'sso' : null].filter(Boolean).join('+') || 'not set up',
      shortTime(m.createdAt),
    ]);
  },
};

export const usersAdd: Command = {
  name: 'users add',
  args: '<email>',
  summary: 'Add a person: a new address gets an account managed here (setup token printed once); an existing one is invited',
  options: {
    role: { type: 'string', placeholder: '<role>', description: `one of ${MemberRole.options.join(', ')} (required)` },
    name: { type: 'string', placeholder: '<name>', description: 'their name, for lists' },
  },
  notes: [
    'A new account is managed by this workspace and signs in here only: the person sets a password with the setup',
    'token (dashboard: #/set-password?token=…), or confirms their address through the emailed link.',
    'An address that already has an account is invited instead: no token is printed, the membership grants nothing',
    'until the person accepts (through the emailed link, or signed in under Settings), and STATE shows "invited".',
  ],
  async run(ctx) {
    const email = ctx.positionals[0]!;
    const role = roleOption(stringOption(ctx.values, 'role'));
    const name = stringOption(ctx.values, 'name');
    const added = await ctx.api().call('membersAdd', { body: { email, role, ...(name ? { name } : {}) } }, `cannot add ${email}`);
    if (ctx.json) {
      ctx.out(json(added));
      return EXIT.ok;
    }
    const { member } = added;
    if (added.outcome === 'created') {
      ctx.err(`added ${member.email} as ${member.role} (user ${member.userId}): a new account, managed by this workspace`);
    } else {
      ctx.err(`invited ${member.email} as ${member.role} (user ${member.userId}): the address already has an account`);
    }
    ctx.err(added.message);
    if (added.setupToken) {
      ctx.err(`this one-time setup token works until ${shortTime(added.setupTokenExpiresAt)} UTC and is shown only now:`);
      ctx.out(added.setupToken);
    }
    return EXIT.ok;
  },
};

export const usersSetRole: Command = {
  name: 'users set-role',
  args: '<user-id>',
  summary: "Change a person's role (owners alone grant or take away owner)",
  options: { role: { type: 'string', placeholder: '<role>', description: 'the new role (required)' } },
  async run(ctx) {
    const userId = requireUuid(ctx.positionals[0]!, 'the user');
    const role = roleOption(stringOption(ctx.values, 'role'));
    const member = await ctx
      .api()
      .call('membersUpdate', { params: { userId }, body: { role } }, `cannot change the role of ${userId}`);
    if (ctx.json) ctx.out(json(member));
    else ctx.err(`${member.email} is now ${member.role}`);
    return EXIT.ok;
  },
};

export const usersRm: Command = {
  name: 'users rm',
  args: '<user-id>',
  summary: 'Remove a person from the workspace; their sessions in it end',
  async run(ctx) {
    const userId = requireUuid(ctx.positionals[0]!, 'the user');
    await ctx.api().call('membersRemove', { params: { userId } }, `cannot remove ${userId}`);
    ctx.err(`removed ${userId}`);
    return EXIT.ok;
  },
};

export const usersResetPassword: Command = {
  name: 'users reset-password',
  args: '<user-id>',
  summary: 'A new one-time password setup token, for someone whose account this workspace manages',
  async run(ctx) {
    const userId = requireUuid(ctx.positionals[0]!, 'the user');
    const reset = await ctx.api().call('membersSetupToken', { params: { userId } }, `cannot reset the password of ${userId}`);
    if (ctx.json) {
      ctx.out(json(reset));
      return EXIT.ok;
    }
    ctx.err(`setup token (works until ${shortTime(reset.expiresAt)} UTC; their sessions end once it is used), shown only now:`);
    ctx.out(reset.setupToken);
    return EXIT.ok;
  },
};
