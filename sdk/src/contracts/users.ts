import * as z from 'zod';
import { Id, Name, Timestamp } from './common.js';
import { Role, Workspace } from './workspaces.js';

/** People hold every role but `worker`, which belongs to worker API keys. */
export const MemberRole = Role.exclude(['worker']);
export type MemberRole = z.infer<typeof MemberRole>;

const Email = z.email().max(320);
/** Long enough for any passphrase; the server refuses new passwords over 256 bytes. */
const Password = z.string().min(1).max(1024);

/**
 * A membership grants its role only once `active`. Adding an address that already has an account
 * makes an `invited` membership, which grants nothing — no session, no access — until the person
 * accepts it, signed in with an account whose address they proved.
 */
export const MembershipState = z.enum(['active', 'invited']);
export type MembershipState = z.infer<typeof MembershipState>;

/**
 * The account behind a membership, as this workspace sees it. `managed`: created by this
 * workspace's owners or admins, who may set its password; it signs in to this workspace only. `verified`:
 * the person proved control of the address (an emailed link, or single sign-on with a verified
 * email); nobody else can set its password, and it may join other workspaces. `unverified`: an
 * account this workspace does not manage whose address is not proven yet; it must be, before the
 * person can accept.
 */
export const AccountState = z.enum(['managed', 'verified', 'unverified']);
export type AccountState = z.infer<typeof AccountState>;

/** A person's membership of the workspace. */
export const Member = z.strictObject({
  userId: Id,
  email: z.string(),
  /** The account's name; null for an invitation not yet accepted (nothing of the account is told before). */
  name: z.string().nullable(),
  role: MemberRole,
  state: MembershipState,
  account: AccountState,
  /** Whether the person has set a password (else they sign in with single sign-on, or have not set one yet). */
  hasPassword: z.boolean(),
  /** Whether the person has signed in with single sign-on before. */
  sso: z.boolean(),
  createdAt: Timestamp,
});
export type Member = z.infer<typeof Member>;

export const MemberListResponse = z.strictObject({ items: z.array(Member) });
export type MemberListResponse = z.infer<typeof MemberListResponse>;

/** Adds a person by email: a new address gets an account this workspace manages; an existing account is invited. */
export const MemberAddRequest = z.strictObject({
  email: Email,
  role: MemberRole,
  name: z.string().min(1).max(200).optional(),
});
export type MemberAddRequest = z.infer<typeof MemberAddRequest>;

/** What adding did: a new account (managed by this workspace, active at once) or an invitation to an existing one. */
export const MemberAddOutcome = z.enum(['created', 'invited']);
export type MemberAddOutcome = z.infer<typeof MemberAddOutcome>;

/** Whether the person was emailed: `not_configured` when the server has no mail server (OUTPOST_SMTP_URL). */
export const EmailDelivery = z.enum(['sent', 'failed', 'not_configured']);
export type EmailDelivery = z.infer<typeof EmailDelivery>;

/**
 * For a `created` account, a one-time token with which the person sets their password
 * (`POST /auth/password/setup`), shown once; it works for this workspace only. Null when invited:
 * the invitation's link proves control of the address, so it goes to the address alone.
 */
export const MemberAddResponse = z.strictObject({
  member: Member,
  outcome: MemberAddOutcome,
  setupToken: z.string().nullable(),
  setupTokenExpiresAt: Timestamp.nullable(),
  email: EmailDelivery,
  /** What happened and what happens next, in a sentence or three, for the admin to read. */
  message: z.string(),
});
export type MemberAddResponse = z.infer<typeof MemberAddResponse>;

export const MemberUpdateRequest = z.strictObject({ role: MemberRole });
export type MemberUpdateRequest = z.infer<typeof MemberUpdateRequest>;

export const MemberParams = z.strictObject({ userId: Id });

/** A new one-time password setup token for a member whose account this workspace manages. */
export const SetupTokenResponse = z.strictObject({ setupToken: z.string(), expiresAt: Timestamp });
export type SetupTokenResponse = z.infer<typeof SetupTokenResponse>;

/** Password sign-in; `workspace` (its slug) is needed when the account can sign in to more than one. */
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

/**
 * Asks for a password reset link for an address. The answer is the same whether or not an account
 * has the address (nothing here says who has an account): when one does, a one-time link that works
 * for PASSWORD_RESET_MINUTES goes to the address (or, on a server without a mail server, into its log).
 */
export const PasswordResetRequest = z.strictObject({ email: z.string().min(1).max(320) });
export type PasswordResetRequest = z.infer<typeof PasswordResetRequest>;

/** How long a password reset link works. */
export const PASSWORD_RESET_MINUTES = 30;

export const PasswordResetResponse = z.strictObject({ message: z.string() });
export type PasswordResetResponse = z.infer<typeof PasswordResetResponse>;

/**
 * Uses a password reset link: sets the password, confirms the address (the link reached it), and
 * ends every session of the account. A refused password leaves the link usable.
 */
export const PasswordResetConfirmRequest = z.strictObject({
  token: z.string().min(1).max(200),
  password: Password,
});
export type PasswordResetConfirmRequest = z.infer<typeof PasswordResetConfirmRequest>;

/** The account whose password was reset, to sign in with. */
export const PasswordResetConfirmResponse = z.strictObject({ email: z.string() });
export type PasswordResetConfirmResponse = z.infer<typeof PasswordResetConfirmResponse>;

// ---- the signed-in person's own account --------------------------------------------------------

/** A workspace that invited the signed-in person, and the role it offers. */
export const Invitation = z.strictObject({
  workspace: Workspace,
  role: MemberRole,
  invitedAt: Timestamp,
});
export type Invitation = z.infer<typeof Invitation>;

/**
 * The signed-in person's open invitations. Listed only once the account's address is verified
 * (`emailVerified`): before, whoever set the account's password might not be its person.
 */
export const InvitationListResponse = z.strictObject({
  emailVerified: z.boolean(),
  items: z.array(Invitation),
});
export type InvitationListResponse = z.infer<typeof InvitationListResponse>;

export const InvitationParams = z.strictObject({ workspaceId: Id });

/** The membership the person accepted: from now on they sign in to that workspace with its role. */
export const InvitationAcceptResponse = z.strictObject({ workspace: Workspace, role: MemberRole });
export type InvitationAcceptResponse = z.infer<typeof InvitationAcceptResponse>;

/** Whether a link to verify the address was emailed to the signed-in person, and what to do next. */
export const VerificationSendResponse = z.strictObject({ email: EmailDelivery, message: z.string() });
export type VerificationSendResponse = z.infer<typeof VerificationSendResponse>;

/**
 * Uses an emailed link: proves control of the address (the account becomes verified) and accepts
 * the invitation the link came with. An account whose address was not verified yet must choose a
 * `password`: one that a workspace's admin set may be known to them, so it is replaced, and every
 * session of the account ends. A verified account may leave it out.
 */
export const EmailConfirmRequest = z.strictObject({
  token: z.string().min(1).max(200),
  password: Password.optional(),
});
export type EmailConfirmRequest = z.infer<typeof EmailConfirmRequest>;

export const EmailConfirmResponse = z.strictObject({
  email: z.string(),
  /** Whether a new password was set (and every session of the account ended). */
  passwordSet: z.boolean(),
  /** The workspace whose invitation was accepted with this link; null when there was none (any more). */
  joined: Workspace.nullable(),
});
export type EmailConfirmResponse = z.infer<typeof EmailConfirmResponse>;

/** Roles single sign-on may give someone on their first sign-in: never owner, admin or worker. */
export const SsoDefaultRole = z.enum(['developer', 'runner', 'viewer']);

/** An email domain as single sign-on settings name it: lowercase, with a top-level domain. */
export const EmailDomain = z
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
  allowedDomains: z.array(EmailDomain).max(50).optional(),
});
export type OidcConfigRequest = z.infer<typeof OidcConfigRequest>;
