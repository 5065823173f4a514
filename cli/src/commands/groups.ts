import {
  type DirectoryGroup,
  type DirectoryGroupRole,
  GroupRole,
  MAX_PAGE_SIZE,
  WORKSPACES_PER_ORGANISATION,
} from '@outpost/sdk/contracts';
import type { Command, CommandContext, OptionSpecs } from '../command.js';
import { booleanOption, stringList, stringOption } from '../command.js';
import { CliError, EXIT, UsageError } from '../errors.js';
import { json, printList, table } from '../output.js';
import { everyItem } from '../pages.js';
import { asPerson, type PersonApi } from '../person-session.js';
import { isUuid } from '../resolve.js';

/*
 * `outpost groups …`: which workspace roles an organisation's directory groups grant. The identity
 * provider makes the groups and their members (SCIM); the organisation's owners and admins map each
 * group to roles, and owners, admins and auditors read them. Organisation routes take a person's
 * session, so these commands sign in as OUTPOST_EMAIL for the length of the command.
 */

const ORGANISATION_OPTIONS: OptionSpecs = {
  org: { type: 'string', placeholder: '<slug>', description: 'the organisation (required)' },
  workspace: {
    type: 'string',
    placeholder: '<slug>',
    description: 'the workspace of the organisation to sign in to, when you can open several (default: the one named like it)',
  },
};

const SIGN_IN_NOTES = [
  'Acts as the person OUTPOST_EMAIL signed in with OUTPOST_PASSWORD (organisation roles act for a person, not an API key);',
  'the session ends when the command does.',
];

function organisation(ctx: CommandContext): string {
  const org = stringOption(ctx.values, 'org');
  if (!org) throw new UsageError('name the organisation: --org <slug>');
  return org;
}

/** `team-a admin, team-b viewer`, or `-` for a group that grants nothing. */
function rolesText(roles: readonly DirectoryGroupRole[]): string {
  return roles.length === 0 ? '-' : roles.map((r) => `${r.workspace} ${r.role}`).join(', ');
}

/** Every group of the organisation, page after page (a page holds at most MAX_PAGE_SIZE). */
function allGroups(api: PersonApi, org: string): Promise<DirectoryGroup[]> {
  return everyItem((cursor) =>
    api.call(
      'organisationGroupsList',
      { params: { org }, query: { limit: MAX_PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
      `cannot list the groups of ${org}`,
    ),
  );
}

/** The group by id, or by display name (case-insensitive, as the directory keeps them unique). */
async function findGroup(api: PersonApi, org: string, ref: string): Promise<DirectoryGroup> {
  if (isUuid(ref)) return api.call('organisationGroupGet', { params: { org, id: ref } }, `cannot find the group ${ref}`);
  const wanted = ref.toLowerCase();
  const found = (await allGroups(api, org)).find((g) => g.displayName.toLowerCase() === wanted);
  if (!found) throw new CliError(`cannot find the group "${ref}" in ${org}: no group has that name or id`, EXIT.failed);
  return found;
}

export const groupsList: Command = {
  name: 'groups list',
  summary: "List an organisation's directory groups with their members and the workspace roles they grant",
  options: ORGANISATION_OPTIONS,
  notes: SIGN_IN_NOTES,
  async run(ctx) {
    const org = organisation(ctx);
    const groups = await asPerson(ctx, org, (api) => allGroups(api, org));
    return printList(ctx, groups, ['NAME', 'ID', 'MEMBERS', 'ROLES'], (g) => [
      g.displayName,
      g.id,
      String(g.members),
      rolesText(g.roles),
    ]);
  },
};

export const groupsMembers: Command = {
  name: 'groups members',
  args: '<group>',
  summary: "List a directory group's members (the group by name or id)",
  options: ORGANISATION_OPTIONS,
  notes: SIGN_IN_NOTES,
  async run(ctx) {
    const org = organisation(ctx);
    const ref = ctx.positionals[0]!;
    const members = await asPerson(ctx, org, async (api) => {
      const group = await findGroup(api, org, ref);
      return everyItem((cursor) =>
        api.call(
          'organisationGroupMembersList',
          { params: { org, id: group.id }, query: { limit: MAX_PAGE_SIZE, ...(cursor ? { cursor } : {}) } },
          `cannot list the members of ${ref}`,
        ),
      );
    });
    return printList(ctx, members, ['EMAIL', 'NAME', 'USER ID', 'ACTIVE'], (m) => [
      m.email,
      m.name ?? '-',
      m.userId,
      m.active ? 'yes' : 'no',
    ]);
  },
};

/** `team-a=admin` → the role a group grants there; a usage error naming the roles otherwise. */
export function parseGrant(raw: string): DirectoryGroupRole {
  const eq = raw.lastIndexOf('=');
  const workspace = raw.slice(0, eq);
  const role = raw.slice(eq + 1);
  if (eq <= 0 || !role) throw new UsageError(`--grant takes <workspace>=<role>, e.g. team-a=developer; got "${raw}"`);
  if (role === 'owner') throw new UsageError(`--grant ${raw}: a group never grants owner; give it to a person by hand`);
  const parsed = GroupRole.safeParse(role);
  if (!parsed.success) throw new UsageError(`--grant ${raw}: the role must be one of ${GroupRole.options.join(', ')}`);
  return { workspace, role: parsed.data };
}

export const groupsRoles: Command = {
  name: 'groups roles',
  args: '<group>',
  summary: 'Show or set the workspace roles a directory group grants its members (the group by name or id)',
  options: {
    ...ORGANISATION_OPTIONS,
    grant: {
      type: 'string',
      multiple: true,
      placeholder: '<workspace>=<role>',
      description: `a role the group grants (${GroupRole.options.join(', ')}); repeat for each workspace`,
    },
    clear: { type: 'boolean', description: 'the group grants nothing' },
  },
  notes: [
    'Without --grant or --clear, shows what the group grants. --grant names every role the group is to grant:',
    'a workspace not named is taken away. Its members get the highest role of their groups at once; a role',
    `given to a person by hand is never changed by a group. At most ${WORKSPACES_PER_ORGANISATION} workspaces.`,
    ...SIGN_IN_NOTES,
  ],
  async run(ctx) {
    const org = organisation(ctx);
    const ref = ctx.positionals[0]!;
    const grants = stringList(ctx.values, 'grant').map(parseGrant);
    const clear = booleanOption(ctx.values, 'clear');
    if (clear && grants.length > 0) throw new UsageError('pass either --grant or --clear, not both');
    const changing = clear || grants.length > 0;
    const group = await asPerson(ctx, org, async (api) => {
      const found = await findGroup(api, org, ref);
      if (!changing) return found;
      return api.call(
        'organisationGroupRolesPut',
        { params: { org, id: found.id }, body: { roles: grants } },
        `cannot set the roles of ${ref}`,
      );
    });
    if (ctx.json) {
      ctx.out(json(group));
      return EXIT.ok;
    }
    if (changing) {
      ctx.err(
        group.roles.length === 0
          ? `the group "${group.displayName}" grants no roles now`
          : `the group "${group.displayName}" grants ${rolesText(group.roles)} to its ${group.members === 1 ? 'member' : `${group.members} members`}`,
      );
    }
    const rows = group.roles.map((r) => [r.workspace, r.role]);
    for (const line of table(['WORKSPACE', 'ROLE'], rows)) ctx.out(line);
    return EXIT.ok;
  },
};
