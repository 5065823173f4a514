import * as z from 'zod';
import { Id, Name, Timestamp } from './common.js';
import { Role } from './workspaces.js';

/** People hold every role but `worker`, which belongs to worker API keys. */
export const MemberRole = Role.exclude(['worker']);
export type MemberRole = z.infer<typeof MemberRole>;

const Email = z.email().max(320);
/** Long enough for any passphrase; the server refuses new passwords over 256 bytes. */
const Password = z.string().min(1).max(1024);

/** A person's membership of the workspace. */
export const Member = z.strictObject({
  userId: Id,
  email: z.string(),
  name: z.string().nullable(),
  role: MemberRole,
  /** Whether the person has set a password (else they sign in with single sign-on, or have not set one yet). */
  hasPassword: z.boolean(),
  /** Whether the person has signed in with single sign-on before. */
  sso: z.boolean(),
  createdAt: Timestamp,
});
export type Member = z.infer<typeof Member>;

export const MemberListResponse = z.strictObject({ items: z.array(Member) });
export type MemberListResponse = z.infer<typeof MemberListResponse>;

/** Adds a person by email: an existing account joins; a new one is created without a password. */
export const MemberAddRequest = z.strictObject({
  email: Email,
  role: MemberRole,
  name: z.string().min(1).max(200).optional(),
});
export type MemberAddRequest = z.infer<typeof MemberAddRequest>;

/**
 * For a new account, a one-time token with which the person sets their password
 * (`POST /auth/password/setup`); shown once. Null when the account existed.
 */
export const MemberAddResponse = z.strictObject({
  member: Member,
  setupToken: z.string().nullable(),
  setupTokenExpiresAt: Timestamp.nullable(),
});
export type MemberAddResponse = z.infer<typeof MemberAddResponse>;

export const MemberUpdateRequest = z.strictObject({ role: MemberRole });
export type MemberUpdateRequest = z.infer<typeof MemberUpdateRequest>;

export const MemberParams = z.strictObject({ userId: Id });

/** A new one-time password setup token for a member whose every membership is in this workspace. */
export const SetupTokenResponse = z.strictObject({ setupToken: z.string(), expiresAt: Timestamp });
export type SetupTokenResponse = z.infer<typeof SetupTokenResponse>;

/** Password sign-in; `workspace` (its slug) is needed when the account belongs to several. */
export const PasswordSignInRequest = z.strictObject({
  email: z.string().min(1).max(320),
  password: Password,
  workspace: Name.optional(),
});
export type PasswordSignInRequest = z.infer<typeof PasswordSignInRequest>;

/** Changes a password; every session of the account ends, in every workspace. */
export const PasswordChangeRequest = z.strictObject({
  email: z.string().min(1).max(320),
  currentPassword: Password,
  newPassword: Password,
});
export type PasswordChangeRequest = z.infer<typeof PasswordChangeRequest>;

/** Sets a password with a one-time setup token; every session of the account ends. */
export const PasswordSetupRequest = z.strictObject({
  token: z.string().min(1).max(200),
  password: Password,
});
export type PasswordSetupRequest = z.infer<typeof PasswordSetupRequest>;

/** Roles single sign-on may give someone on their first sign-in: never owner, admin or worker. */
export const SsoDefaultRole = z.enum(['developer', 'runner', 'viewer']);

const Domain = z
  .string()
  .min(3)
  .max(253)
  .regex(/^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'a lowercase domain name such as example.com');

/** The workspace's OpenID Connect provider. The client secret is write-only. */
export const OidcConfig = z.strictObject({
  issuer: z.string(),
  clientId: z.string(),
  /** A confidential client (secret stored encrypted) or a public one (PKCE alone). */
  hasClientSecret: z.boolean(),
  defaultRole: SsoDefaultRole.nullable(),
  allowedDomains: z.array(z.string()),
  /** The redirect URI to register at the provider. */
  redirectUri: z.string(),
  /** Where a browser starts signing in (relative to the server). */
  signInPath: z.string(),
  updatedAt: Timestamp,
});
export type OidcConfig = z.infer<typeof OidcConfig>;

export const OidcConfigRequest = z.strictObject({
  /** Exactly the `issuer` of the provider's discovery document; HTTPS. */
  issuer: z.url().max(500),
  clientId: z.string().min(1).max(500),
  /** Omitted: keep the stored one; null: none (public client). Needs OUTPOST_SECRET_KEY on the server. */
  clientSecret: z.string().min(1).max(2000).nullable().optional(),
  /** Admit a first-time sign-in with this role, if its verified email is in `allowedDomains`; null: members only. */
  defaultRole: SsoDefaultRole.nullable().optional(),
  allowedDomains: z.array(Domain).max(50).optional(),
});
export type OidcConfigRequest = z.infer<typeof OidcConfigRequest>;
