import * as z from 'zod';
import { Id, Name, Timestamp } from './common.js';

export const Role = z.enum(['owner', 'admin', 'developer', 'runner', 'viewer', 'worker']);
export type Role = z.infer<typeof Role>;

export const Workspace = z.strictObject({
  id: Id,
  slug: Name,
  name: z.string(),
  createdAt: Timestamp,
});
export type Workspace = z.infer<typeof Workspace>;

/** How many workspaces one account may create (`POST /workspaces`); operators' and the bootstrap's do not count. */
export const WORKSPACES_PER_ACCOUNT = 5;

/** A new workspace's slug: what people type to sign in to it, in URLs and on the command line. */
export const WorkspaceSlug = z
  .string()
  .min(3)
  .max(40)
  .regex(
    /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/,
    'use lowercase letters, digits and "-", starting and ending with a letter or digit',
  );

/** Creates a workspace; the signed-in person becomes its owner. */
export const WorkspaceCreateRequest = z.strictObject({
  slug: WorkspaceSlug,
  /** Shown in the dashboard; the slug when left out. */
  name: z
    .string()
    .trim()
    .min(1)
    .max(100)
    .regex(/^[^\p{Cc}]+$/u, 'no control characters')
    .optional(),
});
export type WorkspaceCreateRequest = z.infer<typeof WorkspaceCreateRequest>;

/** The new workspace; its creator signs in to it (with its slug) as owner. */
export const WorkspaceCreateResponse = z.strictObject({ workspace: Workspace, role: z.literal('owner') });
export type WorkspaceCreateResponse = z.infer<typeof WorkspaceCreateResponse>;

export const ApiKey = z.strictObject({
  id: Id,
  name: Name,
  role: Role,
  /** The first characters of the key, enough to recognise it in a list. */
  prefix: z.string(),
  /** For role `worker`: the pools it may poll; empty means every pool. */
  pools: z.array(Name),
  createdAt: Timestamp,
  lastUsedAt: Timestamp.nullable(),
  expiresAt: Timestamp.nullable(),
  revokedAt: Timestamp.nullable(),
  /**
   * The person the key answers to: whoever made it, or made the key that made it. Their leaving the
   * workspace revokes it (docs/organisations.md). Null for keys that answer to nobody.
   */
  createdBy: Id.nullable(),
});
export type ApiKey = z.infer<typeof ApiKey>;

export const ApiKeyCreateRequest = z.strictObject({
  name: Name,
  role: Role,
  pools: z.array(Name).max(100).optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type ApiKeyCreateRequest = z.infer<typeof ApiKeyCreateRequest>;

/** The only response that carries the secret key; it is never shown again. */
export const ApiKeyCreateResponse = z.strictObject({ apiKey: ApiKey, key: z.string() });
export type ApiKeyCreateResponse = z.infer<typeof ApiKeyCreateResponse>;

export const ApiKeyListResponse = z.strictObject({ items: z.array(ApiKey) });
export type ApiKeyListResponse = z.infer<typeof ApiKeyListResponse>;

export const WhoAmIResponse = z.strictObject({
  workspace: Workspace,
  /** The organisation the workspace belongs to (absent from servers older than organisations). */
  organisation: z.strictObject({ id: Id, slug: z.string(), name: z.string() }).optional(),
  /** Archived: its history is readable, and it takes no changes and no new work until it is restored (absent from older servers). */
  archived: z.boolean().optional(),
  principal: z.strictObject({
    /** `session`: a browser session, opened with an API key or a one-time sign-in link, acting with its role. */
    kind: z.enum(['api_key', 'run_token', 'session']),
    id: z.string(),
    role: Role.nullable(),
  }),
  /** The person signed in, for a session opened with a password, single sign-on or a sign-in link made for them. */
  user: z.strictObject({ id: Id, email: z.string(), name: z.string().nullable() }).optional(),
});
export type WhoAmIResponse = z.infer<typeof WhoAmIResponse>;
