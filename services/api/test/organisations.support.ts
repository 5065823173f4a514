import { expect } from 'vitest';
import type { TestServer } from '../src/testing/index.js';
import type { Call, Reply, ServerFixture } from './helpers.js';
import { minimalUser, type ScimClient, scimClient } from './scim.support.js';
import { addPerson, confirmAddress, type PersonSession, signInPerson } from './users.support.js';

/*
 * People of the test server's default organisation, for the suites on its powers and its directory.
 */

/** The organisation's API, as a signed-in person calls it. */
export const ORG = '/organisations/default';

/** A person with an account, signed in. */
export interface Person {
  userId: string;
  email: string;
  in: PersonSession;
}

type Server = Pick<TestServer, 'app' | 'sql' | 'url'>;

/**
 * The organisation's owner, Olive: the first person made owner of the default workspace owns its
 * organisation. She makes a `scim` token, and her directory links her account, as Okta does on
 * assignment.
 */
export async function organisationOwner(server: Server, owner: Call): Promise<{ olive: Person; oliveScim: ScimClient }> {
  const made = await addPerson(server, owner, 'owner');
  await confirmAddress(server, made);
  const olive = { ...made, in: await signInPerson(server, made.email) };
  expect(await organisationRoleOf(server, olive.userId)).toBe('owner');
  const oliveScim = (await scimTokenOf(server, olive)).scim;
  const linked = await oliveScim.post('/Users', minimalUser(olive.email));
  expect(linked.status, linked.text).toBe(201);
  return { olive, oliveScim };
}

type OrganisationRole = 'owner' | 'admin' | 'auditor' | 'member';

/** What a suite does with the organisation's people, on the file's server and as its owner `olive()`. */
export interface OrganisationPeople {
  /** A new person of the organisation with `role` in it, given by its owner, signed in to it. */
  person(role: OrganisationRole): Promise<Person>;
  /** The owner gives the person `role` in the organisation. */
  setOrganisationRole(userId: string, role: OrganisationRole): Promise<void>;
  /** A `scim` token `maker` makes, and the directory's client with it. */
  scimTokenOf(maker: Person): Promise<{ id: string; scim: ScimClient }>;
  /** The person's role in the organisation, or null when they are not in it. */
  organisationRoleOf(userId: string): Promise<string | null>;
}

export function organisationPeople(api: ServerFixture, olive: () => Person): OrganisationPeople {
  const people: OrganisationPeople = {
    async person(role) {
      const made = await addPerson(api.server, api.owner, 'developer');
      await confirmAddress(api.server, made);
      if (role !== 'member') await people.setOrganisationRole(made.userId, role);
      return { ...made, in: await signInPerson(api.server, made.email, undefined, 'default') };
    },
    async setOrganisationRole(userId, role) {
      const changed = await olive().in.mutate('PATCH', `${ORG}/members/${userId}`, { role });
      expect(changed.status, changed.text).toBe(200);
    },
    scimTokenOf: (maker) => scimTokenOf(api.server, maker),
    organisationRoleOf: (userId) => organisationRoleOf(api.server, userId),
  };
  return people;
}

async function scimTokenOf(server: Pick<TestServer, 'app'>, maker: Person): Promise<{ id: string; scim: ScimClient }> {
  const made = await maker.in.mutate('POST', `${ORG}/tokens`, { name: `directory of ${maker.email}`, scopes: ['scim'] });
  expect(made.status, made.text).toBe(201);
  return { id: made.body.organisationToken.id, scim: scimClient(server, 'default', made.body.token) };
}

async function organisationRoleOf(server: Pick<TestServer, 'sql'>, userId: string): Promise<string | null> {
  const [row] = await server.sql<{ role: string }[]>`
    SELECT om.role FROM organisation_members om JOIN organisations o ON o.id = om.organisation_id
    WHERE o.slug = 'default' AND om.user_id = ${userId}`;
  return row?.role ?? null;
}

/**
 * Reads an organisation's list route page by page, `limit` at a time, following `nextCursor` for at
 * most `maxPages` pages, each page a 200 of at most `limit` items: the items in order, the pages
 * read, and the last cursor (null once the list is done).
 */
export async function readPages(
  call: PersonSession['call'],
  path: string,
  limit: number,
  maxPages: number,
): Promise<{ items: Reply['body'][]; pages: number; cursor: string | null }> {
  const items: Reply['body'][] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query: string = cursor === null ? `?limit=${limit}` : `?limit=${limit}&cursor=${encodeURIComponent(cursor)}`;
    const page: Reply = await call('GET', `${path}${query}`);
    expect(page.status, page.text).toBe(200);
    expect(page.body.items.length).toBeLessThanOrEqual(limit);
    items.push(...page.body.items);
    cursor = page.body.nextCursor;
    pages += 1;
  } while (cursor !== null && pages < maxPages);
  return { items, pages, cursor };
}
