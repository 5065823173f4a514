import type { MemberRole } from '@outpost/sdk/contracts';
import { newEmailLink } from '../src/identity/email-links.js';
import type { TestServer } from '../src/testing/index.js';
import { type Call, type Reply, replyOf } from './helpers.js';
import { browser, cookieValue } from './sessions.support.js';

let counter = 0;

/** A fresh email address per call, so tests never collide on an account. */
export function newEmail(tag = 'person'): string {
  return `${tag}-${Date.now().toString(36)}-${++counter}@example.com`;
}

export const PASSWORD = 'correct horse battery staple';

/** POST to one of the anonymous password routes, as the sign-in page or the CLI would. */
export async function post(server: Pick<TestServer, 'app'>, path: string, body: unknown, headers: Record<string, string> = {}) {
  return replyOf(
    await server.app.request(`/api/v1${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    }),
  );
}

/** Adds a person with `role` through `admin` and sets their password with the setup token; returns their user id. */
export async function addPerson(
  server: Pick<TestServer, 'app'>,
  admin: Call,
  role: MemberRole,
  email = newEmail(role),
): Promise<{ userId: string; email: string }> {
  const added = await admin('POST', '/members', { body: { email, role } });
  if (added.status !== 201) throw new Error(`adding a member failed: ${added.status} ${added.text}`);
  if (added.body.setupToken) {
    const set = await post(server, '/auth/password/setup', { token: added.body.setupToken, password: PASSWORD });
    if (set.status !== 204) throw new Error(`setting the password failed: ${set.status} ${set.text}`);
  }
  return { userId: added.body.member.userId, email };
}

export interface PersonSession {
  call: ReturnType<typeof browser>;
  /** Sends the CSRF header too, as the dashboard does on mutations. */
  mutate: (method: string, path: string, body?: unknown) => Promise<Reply>;
  cookie: string;
  reply: Reply;
}

/** Signs in with email and password and returns a browser-like caller with the session cookies. */
export async function signInPerson(
  server: Pick<TestServer, 'app'>,
  email: string,
  password = PASSWORD,
  workspace?: string,
): Promise<PersonSession> {
  const res = await post(server, '/auth/password', { email, password, ...(workspace ? { workspace } : {}) });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.text}`);
  const cookies = res.headers.getSetCookie();
  const session = cookieValue(cookies, 'outpost_session');
  const csrf = cookieValue(cookies, 'outpost_csrf');
  if (!session || !csrf) throw new Error('sign-in set no cookies');
  const cookie = `outpost_session=${session}; outpost_csrf=${csrf}`;
  const call = browser(server, cookie);
  return {
    call,
    cookie,
    reply: res,
    mutate: (method, path, body) => call(method, path, { body, headers: { 'x-outpost-csrf': csrf } }),
  };
}

/**
 * What the person behind an address does with an emailed link (made here as the mail would carry
 * it): confirms the address, setting `password`, and accepts the invitation of `workspaceId` if given.
 */
export async function confirmAddress(
  server: Pick<TestServer, 'app' | 'sql' | 'url'>,
  person: { userId: string; email: string },
  options: { workspaceId?: string; password?: string } = {},
): Promise<Reply> {
  const { link } = await newEmailLink(server.sql, server.url, {
    userId: person.userId,
    email: person.email,
    workspaceId: options.workspaceId ?? null,
  });
  const token = link.slice(link.indexOf('token=') + 'token='.length);
  const res = await post(server, '/auth/email/confirm', { token, password: options.password ?? PASSWORD });
  if (res.status !== 200) throw new Error(`confirming the address failed: ${res.status} ${res.text}`);
  return res;
}
