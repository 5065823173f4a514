import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ensureLocalOwner } from '../src/identity/local-owner.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';
import { post, signInPerson } from './users.support.js';

/*
 * The person `npm start` makes for local use (cli/src/commands/dev.ts): owner of the local workspace
 * and of its organisation with a confirmed address, so the Organisation pages answer on a server
 * without a mail server; its first password is chosen with the reset link the launcher prints.
 */

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
});
afterAll(async () => {
  await server?.close();
});

describe('the local owner', () => {
  test('is a confirmed owner of the workspace and its organisation, whose Organisation pages answer once a password is chosen', async () => {
    const made = await ensureLocalOwner(server.sql, {
      workspaceId: server.workspaceId,
      email: 'owner@localhost',
      publicUrl: server.url,
    });
    expect(made.email).toBe('owner@localhost');
    expect(made.passwordLink).toMatch(new RegExp(`^${server.url}/#/reset-password\\?token=[A-Za-z0-9_-]{43}$`));
    const token = made.passwordLink?.split('token=')[1] ?? '';
    const chosen = await post(server, '/auth/password-reset/confirm', { token, password: 'a local password of mine' });
    expect(chosen.status, chosen.text).toBe(200);

    const session = await signInPerson(server, 'owner@localhost', 'a local password of mine');
    const organisation = await session.call('GET', '/organisations/default');
    expect(organisation.status, organisation.text).toBe(200);
    expect(organisation.body.role).toBe('owner');
    const people = await session.call('GET', '/organisations/default/members');
    expect(people.status, people.text).toBe(200);

    // A second start changes nothing and prints no link: the person has a password.
    const again = await ensureLocalOwner(server.sql, {
      workspaceId: server.workspaceId,
      email: 'owner@localhost',
      publicUrl: server.url,
    });
    expect(again).toEqual({ userId: made.userId, email: 'owner@localhost', passwordLink: null });
    const [entries] = await server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log
      WHERE action = 'operator.organisations.set-owner' AND ${made.userId} = ANY(object_ids)`;
    expect(entries?.n).toBe(1);
  });
});
