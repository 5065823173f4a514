import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { CSRF_COOKIE, CSRF_HEADER, type Role, SESSION_COOKIE, type SessionMethod } from '@outpost/sdk/contracts';
import type { Db, Sql } from '../db/client.js';
import { credentialRefused, DomainError } from '../domain-error.js';
import { parseApiKey } from './api-key-format.js';
import { findApiKeyByHash, getApiKey } from './db/api-keys.js';
import { openableWorkspaces } from './db/memberships.js';
import {
  consumeSignInToken,
  findActiveSession,
  insertSession,
  insertSignInToken,
  revokeSessionByHash,
  touchSession,
} from './db/sessions.js';
import { getUser } from './db/users.js';

/** A session ends after this long without a request… */
export const SESSION_IDLE_SECONDS = 12 * 3600;
/** …and this long after it was opened, whatever happens. */
export const SESSION_ABSOLUTE_SECONDS = 7 * 24 * 3600;
/** last_seen_at is written at most this often per session. */
const TOUCH_SECONDS = 60;
const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** What session checks read from a request. */
export interface SessionRequest {
  method: string;
  url: string;
  header(name: string): string | undefined;
}

export interface SessionPrincipal {
  kind: 'session';
  workspaceId: string;
  sessionId: string;
  role: Exclude<Role, 'worker'>;
  /** The API key that opened the session, if one did. */
  apiKeyId: string | null;
  /** The person signed in (password or single sign-on), if it is a person's session. */
  userId?: string | null;
  /** How a person's session was opened: only a password session acts beyond its workspace. */
  openedBy?: SessionMethod | null;
  /** The workspace is archived (only mutations marked `whileArchived` are taken). */
  archived?: boolean;
}

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest('hex');
const secret = () => randomBytes(32).toString('base64url');

// ---- one-time sign-in links ------------------------------------------------------------------------

export interface SignInLink {
  /** The secret; only its hash is stored. */
  token: string;
  /** Path of the dashboard page that exchanges it, to append to the server's URL. */
  path: string;
  expiresAt: Date;
}

/**
 * A single-use link that opens a session with `role` in the workspace; valid for `ttlSeconds` (900 by
 * default). With `userId` it signs in as that person instead, with the role of their membership when
 * the link is used (`role` is then only what is stored), as a password sign-in would: the local
 * launcher's link for its owner, so the dashboard opens with the Organisation pages.
 */
export async function createSignInLink(
  sql: Db,
  input: { workspaceId: string; role: Role; ttlSeconds?: number; userId?: string },
): Promise<SignInLink> {
  if (input.role === 'worker') throw new Error('a sign-in link cannot carry the worker role');
  const token = secret();
  const { expiresAt } = await insertSignInToken(sql, {
    workspaceId: input.workspaceId,
    tokenHash: sha256(token),
    role: input.role,
    ttlSeconds: input.ttlSeconds ?? 900,
    userId: input.userId ?? null,
  });
  return { token, path: `/#/sign-in?token=${token}`, expiresAt };
}

// ---- opening and closing sessions ------------------------------------------------------------------

export interface OpenedSession {
  principal: SessionPrincipal;
  /** Cookie values: the session token (HttpOnly) and the CSRF token (readable by the page). */
  token: string;
  csrf: string;
}

/**
 * Exchanges a one-time sign-in token or an API key for a session with the same role in the same
 * workspace. A used, expired or unknown token, and a bad key, are the same 401; worker keys are
 * for workers only. The token is consumed in the transaction that creates the session.
 */
export async function openSession(sql: Sql, credential: { token?: string; apiKey?: string }): Promise<OpenedSession> {
  const token = secret();
  const csrf = secret();
  const session = { tokenHash: sha256(token), csrfHash: sha256(csrf), absoluteSeconds: SESSION_ABSOLUTE_SECONDS };
  if (credential.token !== undefined) {
    const presented = credential.token;
    return sql.begin(async (tx) => {
      const used = await consumeSignInToken(tx, sha256(presented));
      if (!used || used.role === 'worker') throw credentialRefused('this sign-in link has expired or was already used');
      const { userId } = used;
      const link = { workspaceId: used.workspaceId, role: used.role };
      if (userId !== null) {
        // A person's link: their role now, in a workspace they can still open; otherwise the same 401.
        const member = (await openableWorkspaces(tx, userId)).find((w) => w.workspaceId === link.workspaceId);
        const user = member ? await getUser(tx, userId) : null;
        if (!member || !user) throw credentialRefused('this sign-in link has expired or was already used');
        return openUserSession(tx, {
          workspaceId: link.workspaceId,
          userId,
          role: member.role,
          label: `sign-in link (${user.email})`,
          openedBy: 'password',
        });
      }
      const { id } = await insertSession(tx, { ...session, ...link, label: 'sign-in link', apiKeyId: null });
      return { token, csrf, principal: { kind: 'session', sessionId: id, ...link, role: link.role, apiKeyId: null } };
    });
  }
  const parsed = parseApiKey(credential.apiKey ?? '');
  const key = parsed ? await findApiKeyByHash(sql, parsed.hash, TOUCH_SECONDS) : null;
  if (!key?.active) throw credentialRefused('the API key is unknown, revoked or expired');
  if (key.role === 'worker') throw new DomainError('forbidden', 'a worker key cannot open a browser session');
  const named = await getApiKey(sql, key.workspaceId, key.id);
  const { id } = await insertSession(sql, {
    ...session,
    workspaceId: key.workspaceId,
    role: key.role,
    label: `API key "${named?.name ?? key.id}"`,
    apiKeyId: key.id,
  });
  return {
    token,
    csrf,
    principal: { kind: 'session', sessionId: id, workspaceId: key.workspaceId, role: key.role, apiKeyId: key.id },
  };
}

/**
 * A session for a person who proved who they are (password or single sign-on), in one workspace
 * they are a member of. The role is the membership's, read again on every request.
 */
export async function openUserSession(
  sql: Db,
  input: {
    workspaceId: string;
    userId: string;
    role: Exclude<Role, 'worker'>;
    label: string;
    openedBy: SessionMethod;
    /** The end of the session this one replaces, which it keeps. */
    expiresAt?: Date;
  },
): Promise<OpenedSession> {
  const token = secret();
  const csrf = secret();
  const { id } = await insertSession(sql, {
    workspaceId: input.workspaceId,
    tokenHash: sha256(token),
    csrfHash: sha256(csrf),
    role: input.role,
    label: input.label,
    apiKeyId: null,
    userId: input.userId,
    openedBy: input.openedBy,
    absoluteSeconds: SESSION_ABSOLUTE_SECONDS,
    ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
  });
  return {
    token,
    csrf,
    principal: {
      kind: 'session',
      sessionId: id,
      workspaceId: input.workspaceId,
      role: input.role,
      apiKeyId: null,
      userId: input.userId,
      openedBy: input.openedBy,
    },
  };
}

/** Revokes the session the cookie names, if any; true when one was active. */
export function revokeSession(sql: Sql, sessionToken: string): Promise<boolean> {
  return revokeSessionByHash(sql, sha256(sessionToken));
}

// ---- authenticating requests -----------------------------------------------------------------------

/** A cookie's value from a Cookie header (first occurrence), or undefined. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

/**
 * Refuses requests a browser marks as cross-site. SameSite=Strict already keeps the cookie off
 * them; this covers browsers and proxies that do not, and sign-in requests, which carry no cookie.
 */
export function checkSameOrigin(req: SessionRequest): void {
  const site = req.header('sec-fetch-site');
  if (site !== undefined && site !== 'same-origin' && site !== 'none') {
    throw new DomainError('forbidden', 'cross-site requests are not accepted');
  }
  const origin = req.header('origin');
  if (origin === undefined) return;
  const host = req.header('x-forwarded-host') ?? req.header('host') ?? new URL(req.url).host;
  let originHost: string | null = null;
  try {
    originHost = new URL(origin).host;
  } catch {
    originHost = null;
  }
  if (originHost !== host) throw new DomainError('forbidden', 'cross-origin requests are not accepted');
}

function csrfMatches(presented: string | undefined, storedHash: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(sha256(presented), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * The session the request's cookie names. Mutating requests must echo the CSRF token in the
 * `x-outpost-csrf` header (double submit: a page on another site can neither read the cookie nor
 * set the header), checked against the stored hash.
 */
export async function authenticateSession(sql: Sql, req: SessionRequest, sessionToken: string): Promise<SessionPrincipal> {
  const session = await findActiveSession(sql, sha256(sessionToken), {
    idleSeconds: SESSION_IDLE_SECONDS,
    touchSeconds: TOUCH_SECONDS,
  });
  if (!session || session.role === 'worker') throw credentialRefused('the session has ended; sign in again');
  checkSameOrigin(req);
  if (MUTATING.has(req.method.toUpperCase()) && !csrfMatches(req.header(CSRF_HEADER), session.csrfHash)) {
    throw new DomainError('forbidden', `send the ${CSRF_COOKIE} cookie's value in the ${CSRF_HEADER} header`);
  }
  if (session.stale) await touchSession(sql, session.id, TOUCH_SECONDS);
  return {
    kind: 'session',
    workspaceId: session.workspaceId,
    sessionId: session.id,
    role: session.role,
    apiKeyId: session.apiKeyId,
    userId: session.userId,
    openedBy: session.openedBy,
    archived: session.archived,
  };
}

// ---- cookies ---------------------------------------------------------------------------------------

/** Secure cookies when the browser talks HTTPS to us or to the proxy in front of us. */
export function isHttps(req: SessionRequest): boolean {
  return new URL(req.url).protocol === 'https:' || req.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https';
}

/** Set-Cookie values for a new session: the HttpOnly session token and the CSRF token the page echoes. */
export function sessionCookies(opened: OpenedSession, secure: boolean): string[] {
  const common = `Path=/; SameSite=Strict; Max-Age=${SESSION_ABSOLUTE_SECONDS}${secure ? '; Secure' : ''}`;
  return [`${SESSION_COOKIE}=${opened.token}; ${common}; HttpOnly`, `${CSRF_COOKIE}=${opened.csrf}; ${common}`];
}

export function clearedCookies(secure: boolean): string[] {
  const common = `Path=/; SameSite=Strict; Max-Age=0${secure ? '; Secure' : ''}`;
  return [`${SESSION_COOKIE}=; ${common}; HttpOnly`, `${CSRF_COOKIE}=; ${common}`];
}
