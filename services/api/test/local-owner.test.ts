import { describe, expect, test } from 'vitest';
import { ensureLocalOwner } from '../src/identity/local-owner.js';
import { useServer } from './helpers.js';
import { post, signInPerson } from './users.support.js';

/*
 * The person `npm start` makes for local use (cli/src/commands/dev.ts): owner of the local workspace
 * and of its organisation with a confirmed address, so the Organisation pages answer on a server
 * without a mail server; its first password is chosen with the reset link the launcher prints.
 */

const api = useServer();

describe('the local owner', () => {
  test('is a confirmed owner of the workspace and its organisation, whose Organisation pages answer once a password is chosen', async () => {
    const made = await ensureLocalOwner(api.server.sql, {
      workspaceId: api.server.workspaceId,
      email: 'owner@localhost',
      publicUrl: api.server.url,
    });
    expect(made.email).toBe('owner@localhost');
    expect(made.passwordLink).toMatch(new RegExp(`^${api.server.url}/#/reset-password\\?token=[A-Za-z0-9_-]{43}$`));
    const token = made.passwordLink?.split('token=')[1] ?? '';
    const chosen = await post(api.server, '/auth/password-reset/confirm', { token, password: 'a local password of mine' });
    expect(chosen.status, chosen.text).toBe(200);

    const session = await signInPerson(api.server, 'owner@localhost', 'a local password of mine');
    const organisation = await session.call('GET', '/organisations/default');
    expect(organisation.status, organisation.text).toBe(200);
    expect(organisation.body.role).toBe('owner');
    const people = await session.call('GET', '/organisations/default/members');
    expect(people.status, people.text).toBe(200);

    // A second start changes nothing and prints no link: the person has a password.
    const again = await ensureLocalOwner(api.server.sql, {
      workspaceId: api.server.workspaceId,
      email: 'owner@localhost',
      publicUrl: api.server.url,
    });
    expect(again).toEqual({ userId: made.userId, email: 'owner@localhost', passwordLink: null });
    const [entries] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM audit_log
      WHERE action = 'operator.organisations.set-owner' AND ${made.userId} = ANY(object_ids)`;
    expect(entries?.n).toBe(1);
  });
});
