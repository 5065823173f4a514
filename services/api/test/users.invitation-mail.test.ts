import { describe, expect, test } from 'vitest';
import { startTestServer } from '../src/testing/index.js';
import { linkIn } from '../src/testing/mailbox.js';
import { capturedLogger, client, MAIL_FROM, useMailServer } from './helpers.js';
import { addPerson, newEmail, post, signInPerson } from './users.support.js';

/*
 * Invitation and confirmation mail, delivered over SMTP to a real server on 127.0.0.1: what it
 * says, where its link points, that the link reaches the address and nothing else (not the answer,
 * not the logs), and what an admin is told when the mail server cannot be reached.
 */

const log = capturedLogger('debug');
const logLines = log.chunks;
const api = useMailServer({ publicUrl: 'https://outpost.example.com', logger: log.logger });

describe('invitation mail', () => {
  test('an invitation is mailed to the address alone, from the configured sender, with a link to the public URL', async () => {
    const other = await api.server.createWorkspace();
    const person = await addPerson(api.server, client(api.server, other.ownerKey), 'viewer');
    const since = api.mailbox.messages.length;
    const invited = await api.owner('POST', '/members', { body: { email: person.email, role: 'developer' } });
    expect(invited.body).toMatchObject({ outcome: 'invited', email: 'sent' });

    const mail = await api.mailbox.next(person.email, { since });
    expect(mail.to).toEqual([person.email]);
    expect(mail.from).toBe('outpost@example.com');
    expect(mail.subject).toBe('You are invited to Default on Outpost');
    expect(mail.text).toContain('"Default" (default) as developer');
    const { link, token } = linkIn(mail);
    expect(link).toBe(`https://outpost.example.com/#/confirm-email?token=${token}`);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The secret went to the mailbox only: not into the answer, the logs, or the database in clear.
    expect(invited.text).not.toContain(token);
    expect(logLines.join('')).not.toContain(token);
    expect(logLines.join('')).toMatch(/"purpose":"invitation"[^\n]*"msg":"email sent"/);
    const [stored] = await api.server.sql<
      { n: number }[]
    >`SELECT count(*)::int AS n FROM email_tokens WHERE token_hash = ${token}`;
    expect(stored?.n).toBe(0);

    // Using it confirms the address and accepts, and leaves the logs as clean.
    const used = await post(api.server, '/auth/email/confirm', { token, password: 'a password of my own' });
    expect(used.status, used.text).toBe(200);
    expect(used.body.joined.slug).toBe('default');
    expect(logLines.join('')).not.toContain(token);
  });

  test('a person whose account a workspace manages gets a confirmation link by asking from their session', async () => {
    const { email } = await addPerson(api.server, api.owner, 'viewer');
    const session = await signInPerson(api.server, email);
    const since = api.mailbox.messages.length;
    const asked = await session.mutate('POST', '/account/verification');
    expect(asked.status).toBe(202);
    expect(asked.body).toEqual({ email: 'sent', message: `A link to confirm ${email} was sent there.` });
    const mail = await api.mailbox.next(email, { since });
    expect(mail.subject).toBe('Confirm your address for Outpost');
    const confirmed = await post(api.server, '/auth/email/confirm', {
      token: linkIn(mail).token,
      password: 'my very own password',
    });
    expect(confirmed.body).toMatchObject({ email, passwordSet: true, joined: null });
    // Once confirmed, there is nothing left to confirm.
    const again = await signInPerson(api.server, email, 'my very own password');
    expect((await again.mutate('POST', '/account/verification')).status).toBe(409);
  });

  test('an unreachable mail server is reported to the admin, and the invitation stands', async () => {
    const unreachable = await startTestServer({ loops: false, mail: { smtpUrl: 'smtp://127.0.0.1:1', from: MAIL_FROM } });
    try {
      const ownerHere = client(unreachable, unreachable.ownerKey);
      const email = newEmail('offline');
      const created = await ownerHere('POST', '/members', { body: { email, role: 'viewer' } });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ outcome: 'created', email: 'failed' });
      expect(created.body.message).toMatch(/could not be sent; hand them the setup link yourself/);
      const other = await unreachable.createWorkspace();
      const invited = await client(unreachable, other.ownerKey)('POST', '/members', { body: { email, role: 'viewer' } });
      expect(invited.body).toMatchObject({ outcome: 'invited', email: 'failed', setupToken: null });
      expect((await client(unreachable, other.ownerKey)('GET', '/members')).body.items).toEqual([
        expect.objectContaining({ email, state: 'invited' }),
      ]);
    } finally {
      await unreachable.close();
    }
  });
});
