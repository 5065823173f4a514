import type { TestServer } from '@outpost/api/testing';
import { SCIM_MEDIA_TYPE } from '@outpost/sdk/contracts';

/*
 * HTTP to the API as an organisation's people and its directory reach it, for the directory
 * benchmark: a person signed in with a password (session cookie and CSRF header), SCIM calls with an
 * organisation token, and the browser's round trip through the organisation's single sign-on. Real
 * fetch to the server's port throughout.
 */

export interface Reply {
  status: number;
  text: string;
  headers: Headers;
}

const PASSWORD = 'correct horse battery staple';

export async function send(url: string, method: string, headers: Record<string, string> = {}, body?: string): Promise<Reply> {
  const res = await fetch(url, { method, headers, body, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The answer's body as JSON, once its status is the one expected; the request and answer otherwise. */
export function expectJson<T>(reply: Reply, status: number, what: string): T {
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${reply.text.slice(0, 400)}`);
  return (reply.text ? JSON.parse(reply.text) : null) as T;
}

/** The value a Set-Cookie header gives the named cookie, or undefined. */
export function cookieValue(setCookies: string[], name: string): string | undefined {
  const line = setCookies.find((c) => c.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

export interface PersonSession {
  userId: string;
  email: string;
  /** A call under `/api/v1` with the session's cookies, and its CSRF header (as the dashboard sends on changes). */
  call(method: string, path: string, body?: unknown): Promise<Reply>;
}

/**
 * A person added as `owner` of a workspace with its owner key, their password set with the setup
 * token, signed in with it; made an owner of the workspace's organisation too (as the organisation
 * page would), since organisation routes take a person's session and never an API key.
 */
export async function ownerOf(server: TestServer, workspaceId: string, ownerKey: string, email: string): Promise<PersonSession> {
  const api = `${server.url}/api/v1`;
  const json = { 'content-type': 'application/json' };
  const added = expectJson<{ member: { userId: string }; setupToken: string | null }>(
    await send(
      `${api}/members`,
      'POST',
      { ...json, authorization: `Bearer ${ownerKey}` },
      JSON.stringify({ email, role: 'owner' }),
    ),
    201,
    `adding ${email}`,
  );
  if (!added.setupToken) throw new Error(`${email} got no setup token`);
  const set = await send(
    `${api}/auth/password/setup`,
    'POST',
    json,
    JSON.stringify({ token: added.setupToken, password: PASSWORD }),
  );
  if (set.status !== 204) throw new Error(`setting ${email}'s password: ${set.status} ${set.text}`);
  const userId = added.member.userId;
  await server.sql`UPDATE users SET email_verified_at = coalesce(email_verified_at, now()) WHERE id = ${userId}`;
  await server.sql`
    INSERT INTO organisation_members (organisation_id, user_id, role)
    SELECT organisation_id, ${userId}, 'owner' FROM workspaces WHERE id = ${workspaceId}
    ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = 'owner'`;
  const signedIn = await send(`${api}/auth/password`, 'POST', json, JSON.stringify({ email, password: PASSWORD }));
  if (signedIn.status !== 200) throw new Error(`signing ${email} in: ${signedIn.status} ${signedIn.text}`);
  const cookies = signedIn.headers.getSetCookie();
  const session = cookieValue(cookies, 'outpost_session');
  const csrf = cookieValue(cookies, 'outpost_csrf');
  if (!session || !csrf) throw new Error(`signing ${email} in set no cookies`);
  const cookie = `outpost_session=${session}; outpost_csrf=${csrf}`;
  return {
    userId,
    email,
    call: (method, path, body) =>
      send(
        `${api}${path}`,
        method,
        { cookie, 'x-outpost-csrf': csrf, ...(body === undefined ? {} : json) },
        body === undefined ? undefined : JSON.stringify(body),
      ),
  };
}

/** SCIM calls of an organisation's directory: its base URL and token, bodies sent as given (strings are sent as they are). */
export function scimCaller(server: TestServer, org: string, token: string) {
  const base = `${server.url}/api/v1/organisations/${org}/scim/v2`;
  return (method: string, path: string, body?: unknown): Promise<Reply> =>
    send(
      `${base}${path}`,
      method,
      {
        authorization: `Bearer ${token}`,
        accept: SCIM_MEDIA_TYPE,
        ...(body === undefined ? {} : { 'content-type': SCIM_MEDIA_TYPE }),
      },
      body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    );
}

/**
 * A browser's round trip through the organisation's provider: the start (a redirect to the provider
 * and the state cookie), the provider's authorize endpoint (which signs its person in at once and
 * redirects back), and the callback with the state cookie. Throws unless a session was opened.
 */
export async function signInThroughOrganisation(server: TestServer, org: string): Promise<void> {
  const start = await send(`${server.url}/api/v1/auth/oidc/organisations/${org}/start`, 'GET');
  const state = cookieValue(start.headers.getSetCookie(), 'outpost_oidc');
  const provider = start.headers.get('location');
  if (start.status !== 302 || !state || !provider) throw new Error(`sign-in start for ${org}: ${start.status} ${start.text}`);
  const atProvider = await send(provider, 'GET');
  const back = new URL(atProvider.headers.get('location') ?? '');
  const callback = await send(`${server.url}${back.pathname}${back.search}`, 'GET', { cookie: `outpost_oidc=${state}` });
  if (callback.status !== 302 || !cookieValue(callback.headers.getSetCookie(), 'outpost_session')) {
    throw new Error(`sign-in through ${org} opened no session: ${callback.status} ${callback.headers.get('location')}`);
  }
}

/**
 * An owner key of a workspace of an organisation of its own, holding 60 runs of one deployment
 * (from `dir:///<source>`): the other tenant whose latency the organisation benchmarks measure.
 */
export async function tenantWithRuns(server: TestServer, source: string): Promise<string> {
  const { ownerKey } = await server.createWorkspace();
  const api = `${server.url}/api/v1`;
  const headers = { authorization: `Bearer ${ownerKey}`, 'content-type': 'application/json' };
  const deployment = JSON.stringify({
    flowName: 'etl',
    name: 'nightly',
    source: `dir:///${source}`,
    entrypoint: 'flow.mjs',
    workPool: 'default',
  });
  const made = expectJson<{ deployment: { id: string } }>(
    await send(`${api}/deployments`, 'PUT', headers, deployment),
    200,
    "the tenant's deployment",
  );
  for (let i = 0; i < 60; i++) {
    expectJson(await send(`${api}/deployments/${made.deployment.id}/runs`, 'POST', headers, '{}'), 201, "the tenant's run");
  }
  return ownerKey;
}
