import { API_PREFIX, type DirectoryGroup, type DirectoryGroupRole, GroupRole, SCIM_BASE_PATH } from '@outpost/sdk/contracts';
import type { ApiFailure } from '../api/client.js';
import { pluralise } from './format.js';

/** The roles a group can grant, weakest first, as its role selects offer them after "none". */
export const GROUP_ROLES_WEAKEST_FIRST: readonly GroupRole[] = [...GroupRole.options].reverse();

/** One workspace a group can be given a role in, as the organisation page reads it. */
export interface GroupWorkspace {
  slug: string;
  name: string;
  archivedAt: string | null;
}

/** The role a group grants in each workspace, as edited: null where it grants none. */
export type RoleDraft = Readonly<Record<string, GroupRole | null>>;

/** A row of the roles editor: a workspace of the organisation, or one the group names that it no longer lists. */
export interface RoleRow {
  slug: string;
  name: string;
  archived: boolean;
  /** False for a workspace the group has a role in that the organisation's list does not hold. */
  listed: boolean;
}

/**
 * One row per workspace of the organisation, in its order, then any workspace the group has a role
 * in that the list lacks (renamed or deleted since): shown so that its role can be seen and removed,
 * never dropped without a word by a save.
 */
export function roleRows(workspaces: readonly GroupWorkspace[], roles: readonly DirectoryGroupRole[]): RoleRow[] {
  const rows: RoleRow[] = workspaces.map((w) => ({ slug: w.slug, name: w.name, archived: w.archivedAt !== null, listed: true }));
  const listed = new Set(workspaces.map((w) => w.slug));
  for (const r of roles) {
    if (listed.has(r.workspace)) continue;
    listed.add(r.workspace);
    rows.push({ slug: r.workspace, name: r.workspace, archived: false, listed: false });
  }
  return rows;
}

/** The draft a group's roles start as: its role in each row's workspace, or none. */
export function roleDraft(rows: readonly RoleRow[], roles: readonly DirectoryGroupRole[]): RoleDraft {
  const draft: Record<string, GroupRole | null> = {};
  for (const row of rows) draft[row.slug] = null;
  for (const r of roles) draft[r.workspace] = r.role;
  return draft;
}

/** The body's roles for a draft: one per workspace given a role, in the rows' order. */
export function draftRoles(rows: readonly RoleRow[], draft: RoleDraft): DirectoryGroupRole[] {
  const roles: DirectoryGroupRole[] = [];
  for (const row of rows) {
    const role = draft[row.slug];
    if (role) roles.push({ workspace: row.slug, role });
  }
  return roles;
}

/** Whether two lists grant the same role in the same workspaces, whatever their order. */
export function sameRoles(a: readonly DirectoryGroupRole[], b: readonly DirectoryGroupRole[]): boolean {
  if (a.length !== b.length) return false;
  const granted = new Map(a.map((r) => [r.workspace, r.role]));
  return b.every((r) => granted.get(r.workspace) === r.role);
}

/** A group's roles as its list row reads them: `vision (developer), default (viewer)`. */
export function rolesText(roles: readonly DirectoryGroupRole[]): string {
  return roles.map((r) => `${r.workspace} (${r.role})`).join(', ');
}

function listText(parts: readonly string[]): string {
  if (parts.length <= 1) return parts.join('');
  return `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`;
}

/** What a save did, in a sentence for the status line. */
export function savedText(group: Pick<DirectoryGroup, 'displayName' | 'members' | 'roles'>): string {
  if (group.roles.length === 0) return `Saved: ${group.displayName} grants no workspace role.`;
  const grants = listText(group.roles.map((r) => `${r.role} in ${r.workspace}`));
  return `Saved: ${group.displayName} grants ${grants} to its ${pluralise(group.members, 'member')}.`;
}

/** A refused save's errors: those about one role under its workspace's row, the rest for the editor as a whole. */
export interface RoleErrors {
  byWorkspace: Record<string, string[]>;
  other: string[];
}

/**
 * The field errors of a refused save, placed: a path into the sent roles (`body.roles.0.workspace`,
 * `body.roles[1].role`) names the row of the workspace that role was for; any other (`body.roles`
 * itself, a failure without field errors) belongs to the editor.
 */
export function roleErrors(failure: ApiFailure, sent: readonly DirectoryGroupRole[]): RoleErrors {
  const errors = failure.kind === 'http_error' ? (failure.problem?.errors ?? []) : [];
  const placed: RoleErrors = { byWorkspace: {}, other: [] };
  for (const e of errors) {
    const path = e.path.replace(/^\/?body[./]?/, '');
    const at = /^roles(?:\.|\[|\/)(\d+)\]?/.exec(path);
    const role = at ? sent[Number(at[1])] : undefined;
    if (role) {
      const list = placed.byWorkspace[role.workspace] ?? [];
      list.push(e.message);
      placed.byWorkspace[role.workspace] = list;
    } else {
      placed.other.push(path ? `${path}: ${e.message}` : e.message);
    }
  }
  return placed;
}

/** Where an identity provider reaches the organisation's SCIM service, from the origin the browser reached this server at. */
export function scimBaseUrl(origin: string, organisation: string): string {
  return `${origin.replace(/\/+$/, '')}${API_PREFIX}${SCIM_BASE_PATH.replace(':org', encodeURIComponent(organisation))}`;
}

/** The heading of the guide's section on connecting an identity provider, in docs/organisations.md. */
export const SCIM_GUIDE_HEADING = 'Directory provisioning (SCIM)';
/** How that heading is found: by its first words, so that a change of its parenthesis does not lose it. */
export const SCIM_GUIDE_MATCH = /^Directory provisioning\b/i;

/**
 * The body of one section of a Markdown document: the lines after the first heading (at any level)
 * that is `heading` or matches it, up to the next heading of the same level or above; null when
 * there is no such section. Lines inside code blocks are never headings (`# a shell comment`).
 */
export function markdownSection(markdown: string, heading: string | RegExp): string | null {
  const named = (text: string) => (typeof heading === 'string' ? text === heading : heading.test(text));
  const lines = markdown.split(/\r?\n/);
  let level = 0;
  let fenced = false;
  const body: string[] = [];
  for (const line of lines) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const h = fenced ? null : /^(#{1,6})\s+(.*?)\s*#*\s*$/.exec(line);
    if (level === 0) {
      if (h?.[1] && h[2] !== undefined && named(h[2])) level = h[1].length;
      continue;
    }
    if (h?.[1] && h[1].length <= level) break;
    body.push(line);
  }
  const text = body.join('\n').trim();
  return level > 0 && text !== '' ? text : null;
}
