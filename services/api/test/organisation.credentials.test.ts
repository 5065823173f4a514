import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, client, eventually, useServer } from './helpers.js';
import { browser, openBrowserSession } from './sessions.support.js';
import { addPerson, confirmAddress, type PersonSession, signInPerson } from './users.support.js';

/*
 * An API key answers to the person who made it (or to whoever made the key that made it): when
 * that person loses their access to a workspace, or leaves the organisation, the keys they made
 * there stop working at once, and keys made by others keep working.
 */

let ownerIn: PersonSession;

async function person(role: 'owner' | 'admin' | 'developer') {
  const made = await addPerson(api.server, api.owner, role);
  await confirmAddress(api.server, made);
  return made;
}

async function keyMadeBy(as: PersonSession | Call, name: string, role: 'admin' | 'developer' = 'developer'): Promise<string> {
  const made =
    typeof as === 'function'
      ? await as('POST', '/api-keys', { body: { name, role } })
      : await as.mutate('POST', '/api-keys', { name, role });
  expect(made.status, made.text).toBe(201);
  return made.body.key as string;
}

/** Whether the key still authenticates (the same app, so its cache of verified keys is in play). */
async function works(key: string): Promise<boolean> {
  const reply = await client(api.server, key)('GET', '/flow-runs');
  if (reply.status !== 200 && reply.status !== 401) throw new Error(`unexpected ${reply.status}: ${reply.text}`);
  return reply.status === 200;
}

const api = useServer();

beforeAll(async () => {
  // The first person made owner of the workspace owns its organisation.
  ownerIn = await signInPerson(api.server, (await person('owner')).email);
  const created = await ownerIn.mutate('POST', '/organisations/default/workspaces', { slug: 'team-b', name: 'Team B' });
  expect(created.status, created.text).toBe(201);
});

describe('keys answer to the person who made them', () => {
  test('removing a person from a workspace revokes the keys they made there, and the keys those keys made, at once', async () => {
    const admin = await person('admin');
    const adminIn = await signInPerson(api.server, admin.email);
    const theirs = await keyMadeBy(adminIn, 'made-by-a-person', 'admin');
    const madeByTheirKey = await keyMadeBy(client(api.server, theirs), 'made-by-their-key');
    const someoneElses = await keyMadeBy(api.owner, 'made-by-the-bootstrap-key');
    // Used once, so each is in the app's cache of verified keys when the removal happens.
    expect([await works(theirs), await works(madeByTheirKey), await works(someoneElses)]).toEqual([true, true, true]);

    const [row] = await api.server.sql<{ created_by: string | null }[]>`
      SELECT created_by FROM api_keys WHERE name = 'made-by-their-key'`;
    expect(row?.created_by).toBe(admin.userId);

    const removed = await api.owner('DELETE', `/members/${admin.userId}`);
    expect(removed.status, removed.text).toBe(204);
    expect([await works(theirs), await works(madeByTheirKey), await works(someoneElses)]).toEqual([false, false, true]);
    const revoked = await api.server.sql<{ name: string; revoked: boolean }[]>`
      SELECT name, revoked_at IS NOT NULL AS revoked FROM api_keys
      WHERE name IN ('made-by-a-person', 'made-by-their-key', 'made-by-the-bootstrap-key') ORDER BY name`;
    expect(revoked.map((k) => [k.name, k.revoked])).toEqual([
      ['made-by-a-person', true],
      ['made-by-the-bootstrap-key', false],
      ['made-by-their-key', true],
    ]);
  });

  test('a key another replica revoked a moment ago makes no new key, although this replica still believes it for reads', async () => {
    const admin = await person('admin');
    const adminIn = await signInPerson(api.server, admin.email);
    const theirs = await keyMadeBy(adminIn, 'revoked-elsewhere', 'admin');
    expect(await works(theirs)).toBe(true);
    // Another replica's revocation: the row changes, this app's cache of verified keys does not hear of it.
    await api.server.sql`UPDATE api_keys SET revoked_at = now() WHERE name = 'revoked-elsewhere'`;
    expect(await works(theirs)).toBe(true);
    const made = await client(api.server, theirs)('POST', '/api-keys', { body: { name: 'outliving', role: 'developer' } });
    expect(made.status, made.text).toBe(401);
    const [row] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM api_keys WHERE name = 'outliving'`;
    expect(row?.n).toBe(0);
  });

  test('removing a person from the organisation revokes the keys they made in every one of its workspaces, and the sessions those keys opened', async () => {
    const admin = await person('admin');
    const put = await ownerIn.mutate('PUT', `/organisations/default/workspaces/team-b/members/${admin.userId}`, {
      role: 'admin',
    });
    expect(put.status, put.text).toBe(200);
    const inDefault = await signInPerson(api.server, admin.email, undefined, 'default');
    const inTeam = await signInPerson(api.server, admin.email, undefined, 'team-b');
    const here = await keyMadeBy(inDefault, 'departing-default');
    const there = await keyMadeBy(inTeam, 'departing-team-b');
    const colleague = await keyMadeBy(ownerIn, 'staying');
    expect([await works(here), await works(there), await works(colleague)]).toEqual([true, true, true]);
    // A browser session opened with one of the keys dies with it.
    const openedWithKey = browser(api.server, (await openBrowserSession(api.server, { apiKey: there })).cookie);
    expect((await openedWithKey('GET', '/whoami')).status).toBe(200);

    const removed = await ownerIn.mutate('DELETE', `/organisations/default/members/${admin.userId}`);
    expect(removed.status, removed.text).toBe(204);
    expect([await works(here), await works(there), await works(colleague)]).toEqual([false, false, true]);
    const [open] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM sessions s JOIN api_keys k ON k.id = s.api_key_id
      WHERE k.name = 'departing-team-b' AND s.revoked_at IS NULL`;
    expect(open?.n).toBe(0);
    expect((await openedWithKey('GET', '/whoami')).status).toBe(401);
  });

  test('a key never outranks its maker: a demotion, by hand or by a group, revokes the keys made above the new role', async () => {
    const admin = await person('admin');
    const adminIn = await signInPerson(api.server, admin.email);
    const adminKey = await keyMadeBy(adminIn, 'above-developer', 'admin');
    const developerKey = await keyMadeBy(adminIn, 'at-developer', 'developer');
    expect([await works(adminKey), await works(developerKey)]).toEqual([true, true]);
    // By hand, in the workspace: admin → developer. The admin key goes, the developer key stays.
    const demoted = await api.owner('PATCH', `/members/${admin.userId}`, { body: { role: 'developer' } });
    expect(demoted.status, demoted.text).toBe(200);
    expect([await works(adminKey), await works(developerKey)]).toEqual([false, true]);

    // By the organisation, in another workspace: admin there, a key, then viewer.
    const put = (role: string) =>
      ownerIn.mutate('PUT', `/organisations/default/workspaces/team-b/members/${admin.userId}`, { role });
    expect((await put('admin')).status).toBe(200);
    const inTeam = await signInPerson(api.server, admin.email, undefined, 'team-b');
    const teamKey = await keyMadeBy(inTeam, 'team-b-developer', 'developer');
    expect((await put('viewer')).status).toBe(200);
    expect(await works(teamKey)).toBe(false);

    // By a group: a directory membership whose group now grants less loses the keys above it.
    const [org] = await api.server.sql<{ organisation_id: string; id: string }[]>`
      SELECT organisation_id, id FROM workspaces WHERE slug = 'team-b'`;
    const grouped = await person('admin');
    await api.server.sql`
      INSERT INTO memberships (workspace_id, user_id, role, state, source)
      VALUES (${org?.id ?? ''}, ${grouped.userId}, 'admin', 'active', 'directory')
      ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = 'admin', source = 'directory'`;
    const groupedIn = await signInPerson(api.server, grouped.email, undefined, 'team-b');
    const groupKey = await keyMadeBy(groupedIn, 'from-a-group', 'admin');
    const [group] = await api.server.sql<{ id: string }[]>`
      INSERT INTO directory_groups (organisation_id, display_name) VALUES (${org?.organisation_id ?? ''}, 'Runners') RETURNING id`;
    await api.server.sql`INSERT INTO directory_group_members (group_id, user_id) VALUES (${group?.id ?? ''}, ${grouped.userId})`;
    const mapped = await ownerIn.mutate('PUT', `/organisations/default/groups/${group?.id}/roles`, {
      roles: [{ workspace: 'team-b', role: 'runner' }],
    });
    expect(mapped.status, mapped.text).toBe(200);
    const [membership] = await api.server.sql<{ role: string }[]>`
      SELECT role FROM memberships WHERE workspace_id = ${org?.id ?? ''} AND user_id = ${grouped.userId}`;
    expect(membership?.role).toBe('runner');
    expect(await works(groupKey)).toBe(false);
  });

  test('a key asked for while its maker is being demoted is judged by the role they have once the demotion committed', async () => {
    const admin = await person('admin');
    const adminIn = await signInPerson(api.server, admin.email);
    const [row] = await api.server.sql<{ organisation_id: string; id: string }[]>`
      SELECT organisation_id, id FROM workspaces WHERE slug = 'default'`;
    // A demotion holds the organisation's lock; the request to make a key waits behind it.
    const demotion = await api.server.sql.reserve();
    await demotion`BEGIN`;
    await demotion`SELECT pg_advisory_xact_lock(hashtext('outpost.organisation'), hashtext(${row?.organisation_id ?? ''}))`;
    const asked = adminIn.mutate('POST', '/api-keys', { name: 'during-demotion', role: 'admin' });
    await eventually(async () => {
      const [waiting] = await api.server.sql<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`;
      return (waiting?.n ?? 0) > 0 ? true : undefined;
    });
    await demotion`UPDATE memberships SET role = 'developer' WHERE workspace_id = ${row?.id ?? ''} AND user_id = ${admin.userId}`;
    await demotion`COMMIT`;
    demotion.release();
    const answer = await asked;
    expect(answer.status, answer.text).toBe(403);
    expect(answer.body.detail).toMatch(/now developer/);
    const [made] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM api_keys WHERE name = 'during-demotion'`;
    expect(made?.n).toBe(0);
  });
});
