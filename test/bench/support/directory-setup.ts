import type { TestServer } from '@outpost/api/testing';
import { expectJson, ownerOf, type PersonSession } from './organisation-http.js';

/*
 * The organisations the directory benchmark works in: an owner signed in with a password, three
 * workspaces that groups grant roles in, and people seeded with SQL (as the 10,000-member test of
 * services/api/test/scim.provisioning.test.ts does), since only the call under test goes through the API.
 */

export interface Organisation {
  id: string;
  slug: string;
  owner: PersonSession;
  /** Slugs of the workspaces groups grant roles in (GRANTED_WORKSPACES). */
  workspaces: string[];
  /** The address domain of its people, the one its single sign-on allows. */
  domain: string;
}

/** How many workspaces groups grant roles in (BENCH_DIRECTORY_WORKSPACES; 3 unless set). */
export const GRANTED_WORKSPACES = Number(process.env.BENCH_DIRECTORY_WORKSPACES ?? 3);

/** The organisation a workspace belongs to. */
export async function organisationOfWorkspace(server: TestServer, workspaceId: string): Promise<{ id: string; slug: string }> {
  const [org] = await server.sql<{ id: string; slug: string }[]>`
    SELECT o.id, o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${workspaceId}`;
  if (!org) throw new Error(`no organisation for workspace ${workspaceId}`);
  return org;
}

/**
 * `count` more workspaces in `org`, the organisation of the server's own, made with SQL
 * (`<tag>-<n>`): the ids of all of them, the server's own first.
 */
export async function growWorkspaces(server: TestServer, org: { id: string }, tag: string, count: number): Promise<string[]> {
  const name = tag.charAt(0).toUpperCase() + tag.slice(1);
  const made = await server.sql<{ id: string }[]>`
    INSERT INTO workspaces (organisation_id, slug, name)
    SELECT ${org.id}, ${tag} || '-' || n, ${name} || ' ' || n FROM generate_series(1, ${count}) n RETURNING id`;
  return [server.workspaceId, ...made.map((w) => w.id)];
}

/** The organisation of a workspace, with an owner signed in with a password and GRANTED_WORKSPACES more workspaces. */
export async function organisationOf(
  server: TestServer,
  workspace: { workspaceId: string; ownerKey: string },
  tag: string,
  domain: string,
): Promise<Organisation> {
  const org = await organisationOfWorkspace(server, workspace.workspaceId);
  const owner = await ownerOf(server, workspace.workspaceId, workspace.ownerKey, `owner-${tag}@${domain}`);
  const workspaces: string[] = [];
  for (let i = 1; i <= GRANTED_WORKSPACES; i++) {
    const slug = `${tag}-${i}`;
    expectJson(await owner.call('POST', `/organisations/${org.slug}/workspaces`, { slug }), 201, `workspace ${slug}`);
    workspaces.push(slug);
  }
  return { ...org, owner, workspaces, domain };
}

/**
 * `count` people of the organisation (`<tag>-<n>@<domain>`): a verified account, the organisation's
 * member, and a directory user as SCIM provisions one; their ids.
 */
export async function seedDirectoryPeople(server: TestServer, org: Organisation, tag: string, count: number): Promise<string[]> {
  const rows = await server.sql<{ id: string }[]>`
    WITH made AS (
      INSERT INTO users (email, email_verified_at)
      SELECT ${tag} || '-' || i || '@' || ${org.domain}, now() FROM generate_series(1, ${count}) i RETURNING id, email),
    joined AS (
      INSERT INTO organisation_members (organisation_id, user_id, role) SELECT ${org.id}, id, 'member' FROM made)
    INSERT INTO directory_users (organisation_id, user_id, user_name, account_made)
    SELECT ${org.id}, id, email, true FROM made RETURNING user_id AS id`;
  return rows.map((r) => r.id);
}

/** `count` people of the organisation whose last single sign-on listed `group` (as the callback stores it); their ids. */
export async function seedSsoPeople(server: TestServer, org: Organisation, group: string, count: number): Promise<string[]> {
  const rows = await server.sql<{ id: string }[]>`
    WITH made AS (
      INSERT INTO users (email, email_verified_at)
      SELECT ${group} || '-' || i || '@' || ${org.domain}, now() FROM generate_series(1, ${count}) i RETURNING id),
    joined AS (
      INSERT INTO organisation_members (organisation_id, user_id, role) SELECT ${org.id}, id, 'member' FROM made)
    INSERT INTO organisation_sso_groups (organisation_id, user_id, group_value)
    SELECT ${org.id}, id, ${group} FROM made RETURNING user_id AS id`;
  return rows.map((r) => r.id);
}

/** Throws unless these people hold `expected` active memberships with this role from groups. */
export async function expectGroupMemberships(
  server: TestServer,
  people: readonly string[],
  role: string,
  expected: number,
): Promise<void> {
  const [counted] = await server.sql<{ n: number }[]>`
    SELECT count(*)::int AS n FROM memberships
    WHERE user_id = ANY(${people as string[]}::uuid[]) AND source = 'directory' AND state = 'active' AND role = ${role}`;
  if (counted?.n !== expected) throw new Error(`${counted?.n} active ${role} memberships from groups, not ${expected}`);
}
