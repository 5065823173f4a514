import * as z from 'zod';
import { Id, PageQuery, page, Timestamp } from './common.js';
import { MemberRole } from './users.js';
import { WorkspaceSlug } from './workspaces.js';

/**
 * What a person may do across an organisation's workspaces, over and above their memberships:
 * - `owner`: everything an admin may, and grants or takes away owner and admin;
 * - `admin`: creates, renames, archives and restores workspaces, and manages members in every one;
 * - `auditor`: reads every workspace, changes nothing;
 * - `member`: nothing beyond the workspaces they are a member of.
 * Owners, admins and auditors read every workspace of the organisation as a viewer where they are not
 * a member with a stronger role.
 */
export const OrganisationRole = z.enum(['owner', 'admin', 'auditor', 'member']);
export type OrganisationRole = z.infer<typeof OrganisationRole>;

/** How many workspaces one organisation holds at most: each is read by its home page and its health. */
export const WORKSPACES_PER_ORGANISATION = 100;

/** The organisation roles that read every workspace of the organisation. */
export const ORGANISATION_READERS: readonly OrganisationRole[] = ['owner', 'admin', 'auditor'];
/** The organisation roles that manage its workspaces and their members. */
export const ORGANISATION_ADMINS: readonly OrganisationRole[] = ['owner', 'admin'];

const DisplayName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[^\p{Cc}]+$/u, 'no control characters');

/** One workspace of an organisation, as its list shows it. */
export const OrganisationWorkspace = z.strictObject({
  id: Id,
  slug: z.string(),
  name: z.string(),
  createdAt: Timestamp,
  /** When it was archived: its history is read-only, its schedules and claims stopped. Null while active. */
  archivedAt: Timestamp.nullable(),
  /** The caller's role in it: their membership's, or `viewer` through their organisation role. */
  role: MemberRole,
});
export type OrganisationWorkspace = z.infer<typeof OrganisationWorkspace>;

export const Organisation = z.strictObject({
  id: Id,
  slug: z.string(),
  name: z.string(),
  createdAt: Timestamp,
  /** The caller's role in the organisation. */
  role: OrganisationRole,
  /** The workspaces the caller can sign in to, or (for owners, admins and auditors) all of them, by slug. */
  workspaces: z.array(OrganisationWorkspace),
});
export type Organisation = z.infer<typeof Organisation>;

export const OrganisationListResponse = z.strictObject({ items: z.array(Organisation) });
export type OrganisationListResponse = z.infer<typeof OrganisationListResponse>;

export const OrganisationParams = z.strictObject({ org: WorkspaceSlug });
export const OrganisationWorkspaceParams = z.strictObject({ org: WorkspaceSlug, workspace: WorkspaceSlug });
export const OrganisationMemberParams = z.strictObject({ org: WorkspaceSlug, userId: Id });
export const OrganisationWorkspaceMemberParams = z.strictObject({ org: WorkspaceSlug, workspace: WorkspaceSlug, userId: Id });

export const OrganisationUpdateRequest = z.strictObject({ name: DisplayName });
export type OrganisationUpdateRequest = z.infer<typeof OrganisationUpdateRequest>;

/** A new workspace of the organisation; the admin who creates it becomes its owner. */
export const OrganisationWorkspaceCreateRequest = z.strictObject({
  slug: WorkspaceSlug,
  /** Shown in the dashboard; the slug when left out. */
  name: DisplayName.optional(),
});
export type OrganisationWorkspaceCreateRequest = z.infer<typeof OrganisationWorkspaceCreateRequest>;

export const OrganisationWorkspaceUpdateRequest = z.strictObject({ name: DisplayName });
export type OrganisationWorkspaceUpdateRequest = z.infer<typeof OrganisationWorkspaceUpdateRequest>;

/** A person of the organisation: their organisation role and their role in each of its workspaces. */
export const OrganisationMember = z.strictObject({
  userId: Id,
  email: z.string(),
  name: z.string().nullable(),
  role: OrganisationRole,
  /** Active memberships in the organisation's workspaces, by workspace slug. */
  workspaces: z.array(z.strictObject({ slug: z.string(), role: MemberRole })),
  createdAt: Timestamp,
});
export type OrganisationMember = z.infer<typeof OrganisationMember>;

/** A page of the organisation's people; `cursor` is the last page's `nextCursor`. */
export const OrganisationMembersQuery = PageQuery;
export type OrganisationMembersQuery = z.input<typeof OrganisationMembersQuery>;

/** The organisation's people in the order they joined it, a page at a time. */
export const OrganisationMemberListResponse = page(OrganisationMember);
export type OrganisationMemberListResponse = z.infer<typeof OrganisationMemberListResponse>;

export const OrganisationMemberUpdateRequest = z.strictObject({ role: OrganisationRole });
export type OrganisationMemberUpdateRequest = z.infer<typeof OrganisationMemberUpdateRequest>;

/**
 * Gives a person of the organisation a role in one of its workspaces (active at once: the person is
 * already the organisation's), or changes the one they have.
 */
export const OrganisationWorkspaceMemberPutRequest = z.strictObject({ role: MemberRole });
export type OrganisationWorkspaceMemberPutRequest = z.infer<typeof OrganisationWorkspaceMemberPutRequest>;

export const OrganisationWorkspaceMember = z.strictObject({ userId: Id, workspace: z.string(), role: MemberRole });
export type OrganisationWorkspaceMember = z.infer<typeof OrganisationWorkspaceMember>;

/** Moves the caller's session to another workspace they can use (a membership, or their organisation role). */
export const SessionSwitchRequest = z.strictObject({ workspace: WorkspaceSlug });
export type SessionSwitchRequest = z.infer<typeof SessionSwitchRequest>;

/** The window of the health's run counts, in hours. */
export const HEALTH_WINDOW_HOURS = 24;

/** How one workspace is doing, as the organisation's home lists it. */
export const WorkspaceHealth = z.strictObject({
  workspace: OrganisationWorkspace,
  /** Runs due in the last HEALTH_WINDOW_HOURS that ended FAILED or CRASHED. */
  failedRuns: z.number().int(),
  /** Runs due in the last HEALTH_WINDOW_HOURS that ended COMPLETED. */
  completedRuns: z.number().int(),
  /** Runs RUNNING now. */
  runningRuns: z.number().int(),
  /** Runs waiting past their time with no worker to claim them (SCHEDULED/Late), at any age. */
  lateRuns: z.number().int(),
  /** Assets past their freshness policy's bound. */
  overdueAssets: z.number().int(),
  /** Assets held back by a failed blocking check nobody waived. */
  blockedAssets: z.number().int(),
});
export type WorkspaceHealth = z.infer<typeof WorkspaceHealth>;

export const OrganisationHealthResponse = z.strictObject({
  windowHours: z.number().int(),
  /** The workspaces the caller can open, worst first: failures, then blocked and overdue assets, then late runs. */
  items: z.array(WorkspaceHealth),
});
export type OrganisationHealthResponse = z.infer<typeof OrganisationHealthResponse>;

/**
 * What an organisation token may do: `audit:read` pulls the organisation's audit export and chain
 * heads; `usage:read` reads its usage (JSON and CSV), for a billing or chargeback job; `scim` is the
 * organisation's directory provisioning its people and groups (SCIM 2.0), and opens nothing else.
 */
export const OrganisationTokenScope = z.enum(['audit:read', 'usage:read', 'scim']);
export type OrganisationTokenScope = z.infer<typeof OrganisationTokenScope>;

/**
 * The organisation roles that may make a token with each scope, and that its maker must keep for it
 * to work: a token never outranks its maker. `audit:read` and `usage:read` read what owners and
 * admins read by hand. `scim` is an owner's: the directory deprovisions anyone but owners, from
 * every workspace at once, and puts people in groups that grant workspace roles, including to
 * owners' and admins' own groups, which an admin may not staff by hand.
 */
export const TOKEN_SCOPE_MAKERS: Record<OrganisationTokenScope, readonly OrganisationRole[]> = {
  'audit:read': ORGANISATION_ADMINS,
  'usage:read': ORGANISATION_ADMINS,
  scim: ['owner'],
};

/** The most live tokens one organisation holds. */
export const TOKENS_PER_ORGANISATION = 20;

/** An organisation token as its list shows it; the token itself is shown once, when it is made. */
export const OrganisationToken = z.strictObject({
  id: Id,
  name: z.string(),
  scopes: z.array(OrganisationTokenScope),
  /** The first characters of the token, to tell tokens apart. */
  prefix: z.string(),
  createdAt: Timestamp,
  /** Who made it (null once the account is gone). */
  createdBy: z.string().nullable(),
  expiresAt: Timestamp.nullable(),
  lastUsedAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
});
export type OrganisationToken = z.infer<typeof OrganisationToken>;

export const OrganisationTokenListResponse = z.strictObject({ items: z.array(OrganisationToken) });
export type OrganisationTokenListResponse = z.infer<typeof OrganisationTokenListResponse>;

export const OrganisationTokenCreateRequest = z.strictObject({
  name: DisplayName,
  scopes: z.array(OrganisationTokenScope).min(1).max(OrganisationTokenScope.options.length),
  /** When it stops working; never when left out. */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type OrganisationTokenCreateRequest = z.infer<typeof OrganisationTokenCreateRequest>;

export const OrganisationTokenCreateResponse = z.strictObject({
  /** The token, shown this once: the server keeps only its hash. */
  token: z.string(),
  organisationToken: OrganisationToken,
});
export type OrganisationTokenCreateResponse = z.infer<typeof OrganisationTokenCreateResponse>;

export const OrganisationTokenParams = z.strictObject({ org: WorkspaceSlug, id: Id });
