import { describe, expect, test } from 'vitest';
import { createSignInLink } from '../src/auth/sessions.js';
import { useServer } from './helpers.js';
import { type BrowserSession, browser, openBrowserSession } from './sessions.support.js';

const api = useServer();

async function ownerSession(): Promise<BrowserSession> {
  const { token } = await createSignInLink(api.server.sql, { workspaceId: api.server.workspaceId, role: 'owner' });
  return openBrowserSession(api.server, { token });
}

let poolCounter = 0;
const pool = () => ({ name: `csrf-${++poolCounter}` });

describe('CSRF', () => {
  test('a mutation without the CSRF header, or with a wrong one, is a 403 and changes nothing', async () => {
    const { cookie, csrf } = await ownerSession();
    const as = browser(api.server, cookie);
    const missing = await as('POST', '/work-pools', { body: pool() });
    expect(missing.status).toBe(403);
    expect(missing.body.code).toBe('forbidden');
    const wrong = await as('POST', '/work-pools', { body: pool(), headers: { 'x-outpost-csrf': `${csrf.slice(0, -1)}x` } });
    expect(wrong.status).toBe(403);
    const [count] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM work_pools WHERE name LIKE 'csrf-%'`;
    expect(count?.n).toBe(0);
    const right = await as('POST', '/work-pools', { body: pool(), headers: { 'x-outpost-csrf': csrf } });
    expect(right.status, right.text).toBe(201);
  });

  test('reads need no CSRF header', async () => {
    const { cookie } = await ownerSession();
    const res = await browser(api.server, cookie)('GET', '/work-pools');
    expect(res.status).toBe(200);
    expect(res.body.items.length).toBeGreaterThan(0);
  });

  test('another session’s CSRF token does not fit', async () => {
    const a = await ownerSession();
    const b = await ownerSession();
    const res = await browser(api.server, a.cookie)('POST', '/work-pools', {
      body: pool(),
      headers: { 'x-outpost-csrf': b.csrf },
    });
    expect(res.status).toBe(403);
  });

  test('cross-site requests are refused by Sec-Fetch-Site and by Origin, same-origin ones pass', async () => {
    const { cookie, csrf } = await ownerSession();
    const as = browser(api.server, cookie);
    expect((await as('GET', '/whoami', { headers: { 'sec-fetch-site': 'cross-site' } })).status).toBe(403);
    expect((await as('GET', '/whoami', { headers: { 'sec-fetch-site': 'same-site' } })).status).toBe(403);
    expect((await as('GET', '/whoami', { headers: { origin: 'https://evil.example' } })).status).toBe(403);
    const ok = await as('POST', '/work-pools', {
      body: pool(),
      headers: { 'x-outpost-csrf': csrf, 'sec-fetch-site': 'same-origin', origin: 'http://localhost' },
    });
    expect(ok.status, ok.text).toBe(201);
    const signIn = await api.server.app.request('/api/v1/auth/session', {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: 'https://evil.example' },
      body: JSON.stringify({ apiKey: api.server.ownerKey }),
    });
    expect(signIn.status).toBe(403);
  });

  test('a bearer credential wins over a cookie and needs no CSRF header', async () => {
    const { cookie } = await ownerSession();
    const res = await api.server.app.request('/api/v1/work-pools', {
      method: 'POST',
      headers: { cookie, authorization: `Bearer ${api.server.ownerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(pool()),
    });
    expect(res.status).toBe(201);
  });
});

describe('signing out and session lifetime', () => {
  test('sign-out needs the CSRF header, then revokes the session and clears both cookies', async () => {
    const { cookie, csrf } = await ownerSession();
    const as = browser(api.server, cookie);
    expect((await as('DELETE', '/auth/session')).status).toBe(403);
    expect((await as('GET', '/whoami')).status).toBe(200);
    const out = await as('DELETE', '/auth/session', { headers: { 'x-outpost-csrf': csrf } });
    expect(out.status).toBe(204);
    const cleared = out.headers.getSetCookie();
    expect(cleared.some((c) => c.startsWith('outpost_session=;') && c.includes('Max-Age=0'))).toBe(true);
    expect(cleared.some((c) => c.startsWith('outpost_csrf=;') && c.includes('Max-Age=0'))).toBe(true);
    const after = await as('GET', '/whoami');
    expect(after.status).toBe(401);
    // Signing out of an ended session still clears the cookies.
    expect((await as('DELETE', '/auth/session')).status).toBe(204);
  });

  test('a session ends after 12 idle hours and 7 days after it opened', async () => {
    const idle = await ownerSession();
    expect((await browser(api.server, idle.cookie)('GET', '/whoami')).status).toBe(200);
    await api.server.sql`UPDATE sessions SET last_seen_at = now() - interval '13 hours' WHERE revoked_at IS NULL`;
    expect((await browser(api.server, idle.cookie)('GET', '/whoami')).status).toBe(401);
    const old = await ownerSession();
    await api.server
      .sql`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE last_seen_at > now() - interval '1 hour'`;
    expect((await browser(api.server, old.cookie)('GET', '/whoami')).status).toBe(401);
  });

  test('a made-up session cookie is a 401', async () => {
    const res = await browser(api.server, 'outpost_session=not-a-session')('GET', '/whoami');
    expect(res.status).toBe(401);
  });
});
