import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { newEmailLink } from '../src/identity/email-links.js';
import { startTestServer, TEST_RATE_LIMITS, type TestServer } from '../src/testing/index.js';
import type { ReceivedMail } from '../src/testing/mailbox.js';
import { capturedLogger, client, type Reply, useMailServer } from './helpers.js';
import { minimalUser, scimClient } from './scim.support.js';
import { addPerson, confirmAddress, newEmail, PASSWORD, signInPerson } from './users.support.js';

/*
 * Password reset by emailed link (POST /auth/password-reset and /auth/password-reset/confirm), over
 * real HTTP to a test server whose mail goes over SMTP to a real mailbox on 127.0.0.1: the same answer
 * for every address, a short-lived one-time link stored hashed, the password policy, the address
 * confirmed, sessions ended, the audit log, directory-made accounts, and a server without mail.
 */

const PUBLIC_URL = 'https://outpost.example.com';
const LIMITS = { ...TEST_RATE_LIMITS, signInAttemptsPerAccountAddress: 3, signInAttemptsPerAccount: 12 };
const log = capturedLogger('debug');
const logLines = log.chunks;
const api = useMailServer({
  publicUrl: PUBLIC_URL,
  logger: log.logger,
  rateLimits: LIMITS,
  trustedProxyHops: 1,
});

let clients = 0;
/** A client address of its own (through the one trusted proxy hop), so tests do not share allowances. */
function fromAddress(): string {
  clients += 1;
  return `203.0.113.${clients}`;
}

async function httpPost(target: Pick<TestServer, 'url'>, path: string, body: unknown, from = fromAddress()): Promise<Reply> {
  const res = await fetch(`${target.url}/api/v1${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': from },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, text, headers: res.headers };
}

function resetLinkIn(mail: ReceivedMail): { link: string; token: string } {
  const found = /https?:\/\/\S+#\/reset-password\?token=([A-Za-z0-9_-]+)/.exec(mail.text);
  if (!found?.[1]) throw new Error(`no reset link in the mail "${mail.subject}"`);
  return { link: found[0], token: found[1] };
}

/** Asks for a reset of `email` and returns the link that arrived. */
async function resetLinkFor(email: string): Promise<{ link: string; token: string }> {
  const since = api.mailbox.messages.length;
  const asked = await httpPost(api.server, '/auth/password-reset', { email });
  expect(asked.status, asked.text).toBe(202);
  return resetLinkIn(await api.mailbox.next(email, { since }));
}

async function verifiedAt(userId: string): Promise<Date | null> {
  const [row] = await api.server.sql<
    { email_verified_at: Date | null }[]
  >`SELECT email_verified_at FROM users WHERE id = ${userId}`;
  return row?.email_verified_at ?? null;
}

describe('asking for a reset link', () => {
  test('the answer is the same 202 for an address with an account and one without, and only the account gets mail', async () => {
    const person = await addPerson(api.server, api.owner, 'viewer');
    const nobody = newEmail('nobody');
    const since = api.mailbox.messages.length;
    const known = await httpPost(api.server, '/auth/password-reset', { email: person.email });
    const unknown = await httpPost(api.server, '/auth/password-reset', { email: nobody });
    expect(known.status).toBe(202);
    expect(unknown.status).toBe(202);
    expect(known.text).toBe(unknown.text);
    expect(known.body.message).toMatch(/If an Outpost account has this address/);
    expect(known.headers.get('cache-control')).toBe(unknown.headers.get('cache-control'));

    const mail = await api.mailbox.next(person.email, { since });
    expect(mail.subject).toBe('Reset your Outpost password');
    expect(mail.from).toBe('outpost@example.com');
    const { link, token } = resetLinkIn(mail);
    expect(link).toBe(`${PUBLIC_URL}/#/reset-password?token=${token}`);
    expect(mail.text).toMatch(/before \d{4}-\d\d-\d\d \d\d:\d\d UTC; it works once/);
    expect(api.mailbox.to(nobody)).toEqual([]);
    // Stored as its hash only, for 30 minutes; never in an answer or a log line.
    const [stored] = await api.server.sql<{ plain: number; minutes: number }[]>`
      SELECT count(*) FILTER (WHERE token_hash = ${token})::int AS plain,
             max(extract(epoch FROM expires_at - created_at) / 60)::int AS minutes
      FROM email_tokens WHERE user_id = ${person.userId} AND purpose = 'password_reset'`;
    expect(stored).toEqual({ plain: 0, minutes: 30 });
    expect(known.text).not.toContain(token);
    expect(logLines.join('')).not.toContain(token);
  });

  test('requests are counted per address asked for, whether or not an account has it, apart from sign-ins', async () => {
    const person = await addPerson(api.server, api.owner, 'viewer');
    const nobody = newEmail('nobody');
    const attacker = fromAddress();
    for (const email of [person.email, nobody]) {
      for (let i = 0; i < 3; i++)
        expect((await httpPost(api.server, '/auth/password-reset', { email }, attacker)).status).toBe(202);
      const refused = await httpPost(api.server, '/auth/password-reset', { email }, attacker);
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('rate_limited');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(60);
    }
    // The person, signing in from the same client, is not locked out by the requests made for them.
    expect((await httpPost(api.server, '/auth/password', { email: person.email, password: PASSWORD }, attacker)).status).toBe(
      200,
    );
  });
});

describe('using a reset link', () => {
  test('sets the password, confirms the address, ends every session, is audited, and works once', async () => {
    const person = await addPerson(api.server, api.owner, 'developer');
    expect(await verifiedAt(person.userId)).toBeNull();
    const before = await signInPerson(api.server, person.email);
    expect((await before.call('GET', '/whoami')).status).toBe(200);

    const { token } = await resetLinkFor(person.email);
    const used = await httpPost(api.server, '/auth/password-reset/confirm', { token, password: 'a brand new passphrase' });
    expect(used.status, used.text).toBe(200);
    expect(used.body).toEqual({ email: person.email });

    expect(await verifiedAt(person.userId)).not.toBeNull();
    expect((await before.call('GET', '/whoami')).status).toBe(401);
    expect((await httpPost(api.server, '/auth/password', { email: person.email, password: PASSWORD })).status).toBe(401);
    expect(
      (await httpPost(api.server, '/auth/password', { email: person.email, password: 'a brand new passphrase' })).status,
    ).toBe(200);
    const again = await httpPost(api.server, '/auth/password-reset/confirm', { token, password: 'yet another passphrase' });
    expect(again.status).toBe(401);
    expect(again.body.detail ?? again.body.message).toMatch(/expired, was already used, or was replaced/);

    const entries = await api.owner('GET', `/audit-log?action=authPasswordResetConfirm&objectId=${person.userId}`);
    expect(entries.status, entries.text).toBe(200);
    expect(entries.body.items).toHaveLength(1);
    expect(entries.body.items[0]).toMatchObject({ actor: { kind: 'user', id: person.userId }, status: 200 });
    expect(JSON.stringify(entries.body.items[0])).not.toContain(token);
    // Asking is not recorded: anyone may ask for anyone, and the workspace would learn the asker's address.
    const asked = await api.owner('GET', `/audit-log?action=authPasswordReset`);
    expect(asked.body.items).toEqual([]);
  });

  test('a password the policy refuses leaves the link usable', async () => {
    const person = await addPerson(api.server, api.owner, 'viewer');
    const { token } = await resetLinkFor(person.email);
    const short = await httpPost(api.server, '/auth/password-reset/confirm', { token, password: 'short' });
    expect(short.status).toBe(400);
    const sameAsEmail = await httpPost(api.server, '/auth/password-reset/confirm', { token, password: person.email });
    expect(sameAsEmail.status).toBe(400);
    expect(sameAsEmail.body.errors[0].path).toBe('body.password');
    expect(
      (await httpPost(api.server, '/auth/password-reset/confirm', { token, password: 'a good long passphrase' })).status,
    ).toBe(200);
  });

  test('only the latest link works, an expired one does not, and other links are no reset links', async () => {
    const person = await addPerson(api.server, api.owner, 'viewer');
    const first = await resetLinkFor(person.email);
    const second = await resetLinkFor(person.email);
    expect(
      (await httpPost(api.server, '/auth/password-reset/confirm', { token: first.token, password: 'the first passphrase' }))
        .status,
    ).toBe(401);
    await api.server
      .sql`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE user_id = ${person.userId} AND purpose = 'password_reset' AND used_at IS NULL`;
    expect(
      (await httpPost(api.server, '/auth/password-reset/confirm', { token: second.token, password: 'the second passphrase' }))
        .status,
    ).toBe(401);

    // A confirmation link does not reset a password, and a reset link does not accept invitations.
    const { link } = await newEmailLink(api.server.sql, api.server.url, {
      userId: person.userId,
      email: person.email,
      workspaceId: null,
    });
    const confirmation = link.slice(link.indexOf('token=') + 'token='.length);
    expect(
      (await httpPost(api.server, '/auth/password-reset/confirm', { token: confirmation, password: 'a third passphrase' }))
        .status,
    ).toBe(401);
    const third = await resetLinkFor(person.email);
    expect(
      (await httpPost(api.server, '/auth/email/confirm', { token: third.token, password: 'a fourth passphrase' })).status,
    ).toBe(401);
    expect(
      (await httpPost(api.server, '/auth/password-reset/confirm', { token: third.token, password: 'a fifth passphrase' })).status,
    ).toBe(200);
  });

  test('an account the directory made gets a password and a confirmed address through the link', async () => {
    const olive = await addPerson(api.server, api.owner, 'owner');
    await confirmAddress(api.server, olive);
    const oliveIn = await signInPerson(api.server, olive.email, PASSWORD, 'default');
    const made = await oliveIn.mutate('POST', '/organisations/default/tokens', { name: 'directory', scopes: ['scim'] });
    expect(made.status, made.text).toBe(201);
    const scim = scimClient(api.server, 'default', made.body.token);
    // The organisation proved the address's domain (as its owner's DNS check does): there the directory makes accounts.
    const domain = `reset-${Date.now().toString(36)}.example.com`;
    await api.server.sql`
      INSERT INTO organisation_domains (organisation_id, domain, token, verified_at)
      SELECT id, ${domain}, ${`proven-${domain}`}, now() FROM organisations WHERE slug = 'default'`;
    const email = `directory-person@${domain}`;
    const provisioned = await scim.post('/Users', minimalUser(email));
    expect(provisioned.status, provisioned.text).toBe(201);
    const userId = (provisioned.body as { id: string }).id;
    expect(await verifiedAt(userId)).toBeNull();
    // The workspace's setup token is no way in for it: no workspace manages the account.
    expect((await api.owner('POST', `/members/${userId}/setup-token`)).status).not.toBe(201);

    const { token } = await resetLinkFor(email);
    const used = await httpPost(api.server, '/auth/password-reset/confirm', {
      token,
      password: 'the directory person chose this',
    });
    expect(used.status, used.text).toBe(200);
    expect(await verifiedAt(userId)).not.toBeNull();
    const [row] = await api.server.sql<
      { has: boolean }[]
    >`SELECT password_hash IS NOT NULL AS has FROM users WHERE id = ${userId}`;
    expect(row?.has).toBe(true);
  });
});

describe('a server without a mail server', () => {
  let plain: TestServer;
  const waiters: (() => void)[] = [];
  const plainLogger = capturedLogger('info', () => {
    for (const wake of waiters.splice(0)) wake();
  });
  const plainLog = plainLogger.chunks;

  beforeAll(async () => {
    plain = await startTestServer({ loops: false, publicUrl: PUBLIC_URL, logger: plainLogger.logger });
  });
  afterAll(async () => {
    await plain?.close();
  });

  /** The first log line matching `pattern`, waiting for new lines as they are written (15 s at most). */
  async function logLine(pattern: RegExp, also = ''): Promise<string> {
    const deadline = Date.now() + 15_000;
    for (;;) {
      const found = plainLog.find((line) => pattern.test(line) && line.includes(also));
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no log line matched ${pattern}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  test('says at start that links are printed, and prints a reset link to its log instead of failing', async () => {
    expect(await logLine(/mail is not configured/)).toMatch(/links are printed to this log instead of emailed/);
    const person = await addPerson(plain, client(plain, plain.ownerKey), 'viewer');
    const asked = await httpPost(plain, '/auth/password-reset', { email: person.email });
    expect(asked.status).toBe(202);
    const line = await logLine(/reset-password\?token=/, person.email);
    const token = /reset-password\?token=([A-Za-z0-9_-]+)/.exec(line)?.[1] ?? '';
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(asked.text).not.toContain(token);
    const used = await httpPost(plain, '/auth/password-reset/confirm', { token, password: 'printed, then used' });
    expect(used.status, used.text).toBe(200);
  });

  test('a signed-in person asking to confirm their address is told the link is in the server log, where it is', async () => {
    const person = await addPerson(plain, client(plain, plain.ownerKey), 'viewer');
    const session = await signInPerson(plain, person.email);
    const asked = await session.mutate('POST', '/account/verification');
    expect(asked.status).toBe(202);
    expect(asked.body.email).toBe('not_configured');
    expect(asked.body.message).toMatch(/printed to the server's log/);
    const line = await logLine(/confirm-email\?token=/, person.email);
    const token = /confirm-email\?token=([A-Za-z0-9_-]+)/.exec(line)?.[1] ?? '';
    const used = await httpPost(plain, '/auth/email/confirm', { token, password: 'confirmed from the log' });
    expect(used.status, used.text).toBe(200);
    const [row] = await plain.sql<{ verified: boolean }[]>`
      SELECT email_verified_at IS NOT NULL AS verified FROM users WHERE id = ${person.userId}`;
    expect(row?.verified).toBe(true);
  });
});
