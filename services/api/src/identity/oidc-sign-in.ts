import { createHash, timingSafeEqual } from 'node:crypto';
import type { MemberRole } from '@outpost/sdk/contracts';
import { API_PREFIX } from '@outpost/sdk/contracts';
import { activateMembership, getMember, insertMembership, lockMemberships } from '../auth/db/memberships.js';
import {
  ensureUser,
  findUserByIdentity,
  linkIdentity,
  lockUserByEmail,
  normaliseEmail,
  verifyAccount,
} from '../auth/db/users.js';
import { type OpenedSession, openUserSession } from '../auth/sessions.js';
import type { AppDeps } from '../context.js';
import { DomainError, notFound } from '../domain-error.js';
import type { RoleChanges } from './db/directory.js';
import { voidInvitationTokens } from './db/email-tokens.js';
import { consumeOidcLogin, getOidcProvider, insertOidcLogin, type OidcLogin, type OidcProviderRecord } from './db/oidc.js';
import { getWorkspaceBySlug } from './db/workspaces.js';
import { type IdentityClaims, OidcError, pkcePair, randomToken } from './oidc.js';

/** The browser-bound half of the state: a sign-in must finish in the browser that started it (no login CSRF). */
export const OIDC_STATE_COOKIE = 'outpost_oidc';
export const OIDC_COOKIE_PATH = `${API_PREFIX}/auth/oidc`;
export const OIDC_LOGIN_SECONDS = 600;
export const OIDC_CALLBACK_PATH = `${API_PREFIX}/auth/oidc/callback`;

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
/** Dashboard paths only: one leading slash, no scheme or host, so the landing page cannot be another site. */
const RETURN_TO = /^\/(?!\/)[A-Za-z0-9/_.~=&?%+-]{0,499}$/;

export function safeReturnTo(value: string | undefined): string {
  return value !== undefined && RETURN_TO.test(value) && !value.includes('\\') ? value : '/';
}

/** Why single sign-on did not finish, as the sign-in page is told (never details of the provider's answer). */
export type SsoFailure = 'sso_off' | 'sso_busy' | 'sso_state' | 'sso_unavailable' | 'sso_rejected' | 'sso_not_member';

/** What a refused sign-in changed before it was refused: an organisation's sign-in commits the roles its claim took away. */
export interface SsoRefusalAfter {
  userId: string;
  organisationId: string;
  changes: RoleChanges;
}

export class SsoError extends Error {
  override readonly name = 'SsoError';
  readonly after: SsoRefusalAfter | undefined;
  constructor(
    readonly failure: SsoFailure,
    message: string,
    options: { cause?: unknown; after?: SsoRefusalAfter } = {},
  ) {
    super(message, options.cause === undefined ? {} : { cause: options.cause });
    this.after = options.after;
  }
}

function providerFailure(error: unknown): SsoError {
  if (error instanceof OidcError) {
    const rejected = error.reason === 'id_token_invalid' || error.reason === 'nonce_mismatch';
    return new SsoError(rejected ? 'sso_rejected' : 'sso_unavailable', error.message, { cause: error });
  }
  return new SsoError('sso_unavailable', 'the identity provider could not be used', { cause: error });
}

/** The client secret sealed for `context` (the workspace's or organisation's id), or null for a public client. */
export function clientSecret(deps: AppDeps, sealed: string | null, context: string): string | null {
  if (sealed === null) return null;
  const secret = deps.secretBox?.open(sealed, context) ?? null;
  if (secret === null) {
    throw new SsoError(
      'sso_unavailable',
      'the stored client secret cannot be decrypted (OUTPOST_SECRET_KEY is missing or changed)',
    );
  }
  return secret;
}

/** A provider as a sign-in uses it, whoever configured it. */
export interface SignInProvider {
  issuer: string;
  clientId: string;
  clientSecret: string | null;
  /** The claim listing the person's groups, read only for an organisation's provider. */
  groupsClaim?: string;
}

/** Stores state, nonce and PKCE verifier of a sign-in, and returns where to send the browser. */
export async function beginSignIn(
  deps: AppDeps,
  issuer: string,
  clientId: string,
  login: Omit<OidcLogin, 'nonce' | 'codeVerifier'>,
): Promise<{ location: string; state: string }> {
  let meta: Awaited<ReturnType<AppDeps['oidc']['discover']>>;
  try {
    meta = await deps.oidc.discover(issuer);
  } catch (error) {
    throw new DomainError('unavailable', 'the identity provider cannot be reached or is misconfigured', { cause: error });
  }
  const state = randomToken();
  const nonce = randomToken();
  const pkce = pkcePair();
  await insertOidcLogin(deps.sql, {
    ...login,
    stateHash: sha256(state),
    nonce,
    codeVerifier: pkce.verifier,
    ttlSeconds: OIDC_LOGIN_SECONDS,
  });
  const location = deps.oidc.authorizationUrl(meta, {
    clientId,
    redirectUri: `${deps.publicUrl}${OIDC_CALLBACK_PATH}`,
    state,
    nonce,
    codeChallenge: pkce.challenge,
  });
  return { location, state };
}

/** Begins a sign-in with a workspace's provider. */
export async function startOidcSignIn(
  deps: AppDeps,
  input: { workspaceSlug: string; returnTo: string },
): Promise<{ location: string; state: string }> {
  const workspace = await getWorkspaceBySlug(deps.sql, input.workspaceSlug);
  const provider = workspace ? await getOidcProvider(deps.sql, workspace.id) : null;
  if (!workspace || !provider) throw notFound('single sign-on for this workspace');
  return beginSignIn(deps, provider.issuer, provider.clientId, {
    workspaceId: workspace.id,
    organisationId: null,
    returnTo: input.returnTo,
  });
}

function sameState(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function domainAllowed(email: string | null, domains: string[]): boolean {
  const domain = email?.split('@').at(-1);
  return domain !== undefined && domains.includes(domain);
}

/** Who a single sign-on signs in as, and what it changed on the way. */
interface ResolvedUser {
  userId: string;
  email: string;
  role: MemberRole;
  /** The ID token proved the account's address for the first time. */
  verifiedNow: boolean;
  /** The account's invitation to the workspace was accepted by this sign-in. */
  accepted: boolean;
}

/**
 * The user an identity signs in as, and their role in the workspace. Known identities (issuer,
 * subject) come first; otherwise a verified email finds an account. An ID token with
 * `email_verified` for the account's own address proves control of it: an account not verified
 * until now becomes the person's (its password, which a managing workspace's admin may know, is
 * cleared and its sessions end) and an invitation of this workspace is accepted by signing in to
 * it. Someone who is not a member is admitted only with the provider's default role and a verified
 * email of an allowed domain.
 */
async function resolveUser(deps: AppDeps, provider: OidcProviderRecord, claims: IdentityClaims): Promise<ResolvedUser> {
  return deps.sql.begin(async (tx) => {
    await lockMemberships(tx, provider.workspaceId);
    const proven = claims.emailVerified && claims.email ? normaliseEmail(claims.email) : null;
    let user = await findUserByIdentity(tx, claims.issuer, claims.subject);
    if (!user && proven) user = await lockUserByEmail(tx, proven);
    const verifiedNow = user !== null && proven === user.email && (await verifyAccount(tx, user.id, null, provider.workspaceId));
    const verified = user !== null && (verifiedNow || user.emailVerifiedAt !== null);
    let member = user ? await getMember(tx, provider.workspaceId, user.id) : null;
    // An account whose address is not proven counts only in the workspace that manages it.
    if (member && !verified && user?.managedBy !== provider.workspaceId) member = null;
    let accepted = false;
    if (user && member?.state === 'invited') {
      if (!verified) throw new SsoError('sso_not_member', 'this account is only invited, and its address is not proven');
      accepted = (await activateMembership(tx, provider.workspaceId, user.id)) !== null;
      await voidInvitationTokens(tx, user.id, provider.workspaceId);
    }
    let role = member?.role ?? null;
    if (role === null) {
      const admitted =
        provider.defaultRole !== null && claims.emailVerified && domainAllowed(claims.email, provider.allowedDomains);
      if (!admitted || !provider.defaultRole || !claims.email) {
        throw new SsoError('sso_not_member', 'this identity is not a member of the workspace; ask an admin to add you');
      }
      // A new account made from a verified email is verified; an existing one was proven above.
      user ??= (await ensureUser(tx, { email: claims.email, name: claims.name, managedBy: null })).user;
      if (!verified && user.emailVerifiedAt === null) {
        throw new SsoError('sso_not_member', 'this identity is not a member of the workspace; ask an admin to add you');
      }
      await insertMembership(tx, {
        workspaceId: provider.workspaceId,
        userId: user.id,
        role: provider.defaultRole,
        state: 'active',
      });
      role = provider.defaultRole;
    }
    if (!user) throw new SsoError('sso_not_member', 'this identity is not a member of the workspace');
    await linkIdentity(tx, { issuer: claims.issuer, subject: claims.subject, userId: user.id });
    return { userId: user.id, email: user.email, role, verifiedNow, accepted };
  });
}

export interface OidcSignedIn {
  opened: OpenedSession;
  userId: string;
  workspaceId: string;
  returnTo: string;
  /** The ID token proved the account's address for the first time. */
  verifiedNow: boolean;
  /** The account's invitation to the workspace was accepted by this sign-in. */
  accepted: boolean;
}

/**
 * The sign-in a provider's redirect finishes, once its state is this browser's and still good: a
 * state is taken out of the table by the first callback that brings it.
 */
export async function takeSignIn(deps: AppDeps, input: { state: string; cookieState: string | undefined }): Promise<OidcLogin> {
  if (!input.cookieState || !sameState(input.cookieState, input.state)) {
    throw new SsoError('sso_state', 'this sign-in was not started in this browser, or its cookie is gone');
  }
  const login = await consumeOidcLogin(deps.sql, sha256(input.state));
  if (!login) throw new SsoError('sso_state', 'this sign-in has expired or was already finished');
  return login;
}

/** The code exchanged at the provider, and the ID token's claims once verified. */
export async function identityOf(
  deps: AppDeps,
  provider: SignInProvider,
  login: OidcLogin,
  code: string,
): Promise<IdentityClaims> {
  try {
    const meta = await deps.oidc.discover(provider.issuer);
    const idToken = await deps.oidc.exchangeCode(meta, {
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      code,
      redirectUri: `${deps.publicUrl}${OIDC_CALLBACK_PATH}`,
      codeVerifier: login.codeVerifier,
    });
    return await deps.oidc.verifyIdToken(meta, idToken, {
      clientId: provider.clientId,
      nonce: login.nonce,
      ...(provider.groupsClaim !== undefined ? { groupsClaim: provider.groupsClaim } : {}),
    });
  } catch (error) {
    throw error instanceof SsoError ? error : providerFailure(error);
  }
}

/** Finishes a sign-in with a workspace's provider: code exchange, ID token, user, session. */
export async function finishOidcSignIn(deps: AppDeps, login: OidcLogin, code: string): Promise<OidcSignedIn> {
  const provider = login.workspaceId === null ? null : await getOidcProvider(deps.sql, login.workspaceId);
  if (!provider) throw new SsoError('sso_unavailable', 'single sign-on was turned off for the workspace');
  const claims = await identityOf(
    deps,
    {
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret: clientSecret(deps, provider.clientSecretEncrypted, provider.workspaceId),
    },
    login,
    code,
  );
  const { userId, email, role, verifiedNow, accepted } = await resolveUser(deps, provider, claims);
  const opened = await openUserSession(deps.sql, {
    workspaceId: provider.workspaceId,
    userId,
    role,
    label: `single sign-on (${email})`,
    openedBy: 'single-sign-on',
  });
  return { opened, userId, workspaceId: provider.workspaceId, returnTo: login.returnTo, verifiedNow, accepted };
}
