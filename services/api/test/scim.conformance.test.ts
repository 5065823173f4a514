import { randomUUID } from 'node:crypto';
import {
  type RouteDef,
  type RouteName,
  routes,
  SCIM_BODY_BYTES,
  SCIM_MEDIA_TYPE,
  SCIM_PAGE_MAX,
  SCIM_SCHEMAS,
} from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { createOrganisationToken } from '../src/testing/index.js';
import { organisationOf, type Reply, useServer } from './helpers.js';
import {
  createRequest,
  enterpriseExtension,
  fresh,
  fullUser,
  minimalUser,
  proveDomain,
  type ScimClient,
  scimClient,
  tourGuides,
} from './scim.support.js';

/*
 * The service provider against the RFCs' own examples (RFC 7643 §8, RFC 7644 §3 and §4), through the
 * real app and a real database, as a directory's SCIM client sends them. Each test names the section
 * it follows. Where this service provider departs from an example it says so in the test's name.
 */

let scim: ScimClient;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const api = useServer();

beforeAll(async () => {
  const ws = await api.server.createWorkspace();
  const organisation = await organisationOf(api.server, ws.workspaceId);
  // The addresses below are the organisation's own: its directory makes their accounts.
  await proveDomain(api.server, organisation.id, 'example.com');
  const token = await createOrganisationToken(api.server.sql, ws.workspaceId, 'directory', ['scim']);
  scim = scimClient(api.server, organisation.slug, token);
});

const email = (tag: string) => `${fresh(tag)}@example.com`;

async function created(res: Reply): Promise<Reply['body']> {
  expect(res.status, res.text).toBe(201);
  return res.body;
}

/** A person provisioned from the RFC's minimal user, with a fresh address as userName. */
async function person(tag = 'person'): Promise<{ id: string; userName: string }> {
  const body = await created(await scim.post('/Users', minimalUser(email(tag))));
  return { id: body.id, userName: body.userName };
}

/** RFC 7644 §3.12: the error document, its status a string. */
function expectScimError(res: Reply, status: number, scimType?: string): void {
  expect(res.status, res.text).toBe(status);
  expect(res.headers.get('content-type')).toContain(SCIM_MEDIA_TYPE);
  expect(res.body.schemas).toEqual([SCIM_SCHEMAS.error]);
  expect(res.body.status).toBe(String(status));
  if (scimType) expect(res.body.scimType).toBe(scimType);
  expect(typeof res.body.detail).toBe('string');
}

describe('RFC 7643 §8: example representations', () => {
  test('RFC 7643 §8.1: the minimal user is provisioned and answered with its id, userName, active and meta', async () => {
    const userName = email('minimal');
    const res = await scim.post('/Users', minimalUser(userName));
    const body = await created(res);
    expect(res.headers.get('content-type')).toContain(SCIM_MEDIA_TYPE);
    expect(body.schemas).toEqual([SCIM_SCHEMAS.user]);
    expect(body.id).toMatch(UUID);
    expect(body.userName).toBe(userName);
    expect(body.active).toBe(true);
    expect(body.meta).toMatchObject({ resourceType: 'User', location: expect.stringMatching(new RegExp(`/Users/${body.id}$`)) });
    expect(Date.parse(body.meta.created)).not.toBeNaN();
    expect(Date.parse(body.meta.lastModified)).not.toBeNaN();
  });

  test('RFC 7643 §8.2: the full user keeps the attributes this service provider supports; password, addresses, ims, photos, certificates, groups and the client id are ignored', async () => {
    const address = email('babs');
    const sent = fullUser(fresh('bjensen'), address);
    const body = await created(await scim.post('/Users', sent));
    expect(body.id).not.toBe(sent.id);
    expect(body).toMatchObject({
      externalId: sent.externalId,
      userName: sent.userName,
      name: sent.name,
      displayName: sent.displayName,
      nickName: sent.nickName,
      profileUrl: sent.profileUrl,
      emails: sent.emails,
      phoneNumbers: sent.phoneNumbers,
      userType: sent.userType,
      title: sent.title,
      preferredLanguage: sent.preferredLanguage,
      locale: sent.locale,
      timezone: sent.timezone,
      active: true,
    });
    for (const ignored of ['password', 'addresses', 'ims', 'photos', 'x509Certificates', 'groups']) {
      expect(body, ignored).not.toHaveProperty(ignored);
    }
    expect(body.meta.created).not.toBe(sent.meta.created);
    // The primary email found or made the account.
    const [account] = await api.server.sql<
      { email: string; name: string | null; password_hash: string | null; email_verified_at: Date | null }[]
    >`
      SELECT email, name, password_hash, email_verified_at FROM users WHERE id = ${body.id}`;
    expect(account).toEqual({ email: address, name: 'Babs Jensen', password_hash: null, email_verified_at: null });
  });

  test('RFC 7643 §8.3: the enterprise user extension is stored and answered back under its URN', async () => {
    const sent = {
      ...fullUser(fresh('enterprise'), email('enterprise')),
      schemas: [SCIM_SCHEMAS.user, SCIM_SCHEMAS.enterpriseUser],
      [SCIM_SCHEMAS.enterpriseUser]: enterpriseExtension(),
    };
    const body = await created(await scim.post('/Users', sent));
    expect(body.schemas).toEqual([SCIM_SCHEMAS.user, SCIM_SCHEMAS.enterpriseUser]);
    expect(body[SCIM_SCHEMAS.enterpriseUser]).toEqual(enterpriseExtension());
  });

  test('RFC 7643 §8.4: a group of provisioned people answers each member with its id, $ref and display', async () => {
    const babs = await person('babs');
    const mandy = await person('mandy');
    const sent = tourGuides(fresh('Tour Guides'), [
      { value: babs.id, display: 'Babs Jensen' },
      { value: mandy.id, display: 'Mandy Pepperidge' },
    ]);
    const body = await created(await scim.post('/Groups', sent));
    expect(body).toMatchObject({ schemas: [SCIM_SCHEMAS.group], displayName: sent.displayName, meta: { resourceType: 'Group' } });
    expect(body.id).toMatch(UUID);
    expect(body.members).toEqual(
      expect.arrayContaining([
        { value: babs.id, $ref: expect.stringMatching(new RegExp(`/Users/${babs.id}$`)), display: babs.userName, type: 'User' },
        {
          value: mandy.id,
          $ref: expect.stringMatching(new RegExp(`/Users/${mandy.id}$`)),
          display: mandy.userName,
          type: 'User',
        },
      ]),
    );
    expect(body.members).toHaveLength(2);
  });
});

describe('RFC 7644 §3.3: creating resources', () => {
  test('RFC 7644 §3.3: a create answers 201 with the resource, a Location header that is its meta.location, and the media type', async () => {
    const userName = fresh('bjensen');
    const res = await scim.post('/Users', createRequest(userName, email('bjensen')));
    const body = await created(res);
    expect(res.headers.get('location')).toBe(body.meta.location);
    expect(res.headers.get('content-type')).toContain(SCIM_MEDIA_TYPE);
    expect(body).toMatchObject({ userName, externalId: userName, name: { familyName: 'Jensen', givenName: 'Barbara' } });
  });

  test('RFC 7644 §3.3: a body sent as application/json is taken as well as application/scim+json', async () => {
    const res = await scim.send('POST', '/Users', {
      body: minimalUser(email('plain-json')),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status, res.text).toBe(201);
  });

  test('RFC 7644 §3.3: the example without an address is a 400 invalidValue here, since an address finds or makes the account', async () => {
    const res = await scim.post('/Users', { schemas: [SCIM_SCHEMAS.user], userName: fresh('bjensen'), externalId: 'bjensen' });
    expectScimError(res, 400, 'invalidValue');
    expect(res.body.detail).toContain('email');
  });

  test('RFC 7644 §3.3 and §3.12: a userName already provisioned, in any case, is a 409 uniqueness', async () => {
    const first = await person('unique');
    const res = await scim.post('/Users', minimalUser(first.userName.toUpperCase()));
    expectScimError(res, 409, 'uniqueness');
    expect(res.body.detail).toContain('userName');
  });

  test('RFC 7644 §3.3 and §3.12: a group displayName already taken, in any case, is a 409 uniqueness', async () => {
    const name = fresh('Unique Group');
    await created(await scim.post('/Groups', tourGuides(name, [])));
    expectScimError(await scim.post('/Groups', tourGuides(name.toLowerCase(), [])), 409, 'uniqueness');
  });

  test('RFC 7644 §3.3: a group member that is not a person of this organisation is a 400 invalidValue naming it', async () => {
    const stranger = '902c246b-6245-4190-8e05-00816be7344a';
    const res = await scim.post('/Groups', tourGuides(fresh('Strangers'), [{ value: stranger, display: 'Mandy Pepperidge' }]));
    expectScimError(res, 400, 'invalidValue');
    expect(res.body.detail).toContain(stranger);
  });
});

describe('RFC 7644 §3.4: retrieving resources', () => {
  test('RFC 7644 §3.4.1: a person is read by id; an id that is not one is a 404 with the SCIM error document', async () => {
    const babs = await person('get');
    const res = await scim.get(`/Users/${babs.id}`);
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: babs.id, userName: babs.userName });
    expectScimError(await scim.get('/Users/2819c223-7f76-453a-919d-413861904646'), 404);
    expectScimError(await scim.get('/Users/not-an-id'), 404);
    expectScimError(await scim.get('/Groups/2819c223-7f76-453a-919d-413861904646'), 404);
  });

  test('RFC 7644 §3.4.2.2: filter userName eq "bjensen" finds the one person, regardless of the case of the name, operator and attribute', async () => {
    const userName = fresh('bjensen');
    const made = await created(await scim.post('/Users', createRequest(userName, email('filter'))));
    for (const filter of [
      `userName eq "${userName}"`,
      `USERNAME Eq "${userName.toUpperCase()}"`,
      `${SCIM_SCHEMAS.user}:userName eq "${userName}"`,
    ]) {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(res.status, `${filter}: ${res.text}`).toBe(200);
      expect(res.body).toMatchObject({ schemas: [SCIM_SCHEMAS.listResponse], totalResults: 1, itemsPerPage: 1, startIndex: 1 });
      expect(res.body.Resources[0].id).toBe(made.id);
    }
    const none = await scim.get(`/Users?filter=${encodeURIComponent('userName eq "nobody-at-all"')}`);
    expect(none.body).toMatchObject({ totalResults: 0, itemsPerPage: 0, Resources: [] });
  });

  test('RFC 7644 §3.4.2.2: externalId, emails.value (also as emails[value eq …]) and active filter people, joined with and', async () => {
    const userName = fresh('ext');
    const address = email('ext');
    const made = await created(await scim.post('/Users', createRequest(userName, address)));
    for (const filter of [
      `externalId eq "${userName}"`,
      `emails.value eq "${address.toUpperCase()}"`,
      `emails[value eq "${address}"]`,
      `externalId eq "${userName}" and active eq true`,
    ]) {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(res.status, `${filter}: ${res.text}`).toBe(200);
      expect(
        res.body.Resources.map((r: { id: string }) => r.id),
        filter,
      ).toEqual([made.id]);
    }
    const contradicting = await scim.get(
      `/Users?filter=${encodeURIComponent(`externalId eq "${userName}" and active eq false`)}`,
    );
    expect(contradicting.body.totalResults).toBe(0);
  });

  test('RFC 7644 §3.4.2.2: groups are filtered by displayName regardless of case, by externalId and by member', async () => {
    const babs = await person('member');
    const name = fresh('Filtered Group');
    const group = await created(
      await scim.post('/Groups', { ...tourGuides(name, [{ value: babs.id, display: 'b' }]), externalId: name }),
    );
    for (const filter of [
      `displayName eq "${name.toUpperCase()}"`,
      `externalId eq "${name}"`,
      `members[value eq "${babs.id}"]`,
    ]) {
      const res = await scim.get(`/Groups?filter=${encodeURIComponent(filter)}`);
      expect(res.status, `${filter}: ${res.text}`).toBe(200);
      expect(
        res.body.Resources.map((r: { id: string }) => r.id),
        filter,
      ).toEqual([group.id]);
    }
  });

  test('RFC 7644 §3.4.2.2 and §3.12: a filter this service provider does not evaluate is a 400 invalidFilter that says what it supports', async () => {
    for (const filter of [
      'userName co "bjensen"',
      'userName eq "a" or userName eq "b"',
      'title eq "Tour Guide"',
      'userName eq',
      'userName eq "unclosed',
      '(userName eq "a"',
      'userName eq bjensen',
      'active eq "yes"',
    ]) {
      const res = await scim.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expectScimError(res, 400, 'invalidFilter');
    }
    const res = await scim.get(`/Users?filter=${encodeURIComponent('title eq "x"')}`);
    expect(res.body.detail).toContain('userName');
  });

  test('RFC 7644 §3.4.2.4: startIndex and count page through the list; the pages do not overlap and count is at most maxResults', async () => {
    for (let i = 0; i < 5; i++) await person('page');
    const all = await scim.get('/Users?count=1000');
    expect(all.status, all.text).toBe(200);
    const total = all.body.totalResults as number;
    expect(total).toBeGreaterThanOrEqual(5);
    expect(all.body.itemsPerPage).toBe(Math.min(total, SCIM_PAGE_MAX));
    const first = await scim.get('/Users?startIndex=1&count=2');
    const second = await scim.get('/Users?startIndex=3&count=2');
    expect(first.body).toMatchObject({ totalResults: total, itemsPerPage: 2, startIndex: 1 });
    expect(second.body).toMatchObject({ totalResults: total, itemsPerPage: 2, startIndex: 3 });
    const ids = (r: Reply) => r.body.Resources.map((u: { id: string }) => u.id);
    expect(ids(first)).toEqual(ids(all).slice(0, 2));
    expect(ids(second)).toEqual(ids(all).slice(2, 4));
    // A startIndex below 1 is 1, a count of 0 answers only how many there are (RFC 7644 §3.4.2.4).
    expect((await scim.get('/Users?startIndex=0&count=2')).body.startIndex).toBe(1);
    expect((await scim.get('/Users?count=0')).body).toMatchObject({ totalResults: total, itemsPerPage: 0, Resources: [] });
    const past = await scim.get(`/Users?startIndex=${total + 1}`);
    expect(past.body).toMatchObject({ totalResults: total, itemsPerPage: 0, startIndex: total + 1 });
  });

  test('RFC 7644 §3.4.2.5: excludedAttributes=members and attributes=displayName narrow the groups answered', async () => {
    const babs = await person('narrow');
    const group = await created(await scim.post('/Groups', tourGuides(fresh('Narrowed'), [{ value: babs.id, display: 'b' }])));
    const without = await scim.get(`/Groups/${group.id}?excludedAttributes=members`);
    expect(without.status, without.text).toBe(200);
    expect(without.body).not.toHaveProperty('members');
    expect(without.body).toMatchObject({ id: group.id, displayName: group.displayName, meta: { resourceType: 'Group' } });
    const listed = await scim.get(
      `/Groups?excludedAttributes=members&filter=${encodeURIComponent(`displayName eq "${group.displayName}"`)}`,
    );
    expect(listed.body.Resources[0]).not.toHaveProperty('members');
    const only = await scim.get(`/Groups/${group.id}?attributes=displayName`);
    expect(only.body).toEqual({ schemas: [SCIM_SCHEMAS.group], id: group.id, displayName: group.displayName });
    const user = await scim.get(`/Users/${babs.id}?attributes=userName,name.givenName`);
    expect(user.body).toEqual({ schemas: [SCIM_SCHEMAS.user], id: babs.id, userName: babs.userName });
  });
});

describe('RFC 7644 §3.5: modifying resources', () => {
  test('RFC 7644 §3.5.1: PUT replaces the person: attributes left out are cleared, userName may change, and the account is not altered', async () => {
    const address = email('put');
    const made = await created(await scim.post('/Users', fullUser(fresh('put'), address)));
    const userName = fresh('renamed');
    const res = await scim.put(`/Users/${made.id}`, {
      schemas: [SCIM_SCHEMAS.user],
      userName,
      name: { givenName: 'Barbara', familyName: 'Jensen' },
      emails: [{ value: `changed-${address}`, type: 'work', primary: true }],
    });
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ id: made.id, userName, active: true, emails: [{ value: `changed-${address}` }] });
    for (const cleared of ['title', 'nickName', 'phoneNumbers', 'displayName', 'externalId'])
      expect(res.body).not.toHaveProperty(cleared);
    expect(Date.parse(res.body.meta.lastModified)).toBeGreaterThanOrEqual(Date.parse(made.meta.lastModified));
    const [account] = await api.server.sql<{ email: string }[]>`SELECT email FROM users WHERE id = ${made.id}`;
    expect(account?.email).toBe(address);
  });

  test('RFC 7644 §3.5.1: PUT of a group replaces its name and members', async () => {
    const [a, b] = [await person('put-a'), await person('put-b')];
    const group = await created(await scim.post('/Groups', tourGuides(fresh('Put Group'), [{ value: a.id, display: 'a' }])));
    const name = fresh('Put Group Renamed');
    const res = await scim.put(`/Groups/${group.id}`, tourGuides(name, [{ value: b.id, display: 'b' }]));
    expect(res.status, res.text).toBe(200);
    expect(res.body.displayName).toBe(name);
    expect(res.body.members.map((m: { value: string }) => m.value)).toEqual([b.id]);
  });

  describe('RFC 7644 §3.5.2: PATCH of a group', () => {
    let group: { id: string };
    let babs: { id: string };
    let mandy: { id: string };
    const members = async () => {
      const res = await scim.get(`/Groups/${group.id}`);
      expect(res.status, res.text).toBe(200);
      return ((res.body.members ?? []) as { value: string }[]).map((m) => m.value).sort();
    };

    beforeAll(async () => {
      babs = await person('patch-babs');
      mandy = await person('patch-mandy');
      group = await created(await scim.post('/Groups', tourGuides(fresh('Patched'), [])));
    });

    test('RFC 7644 §3.5.2.1: add members, as the RFC example sends them (with display and $ref), and again without a change', async () => {
      const op = {
        op: 'add',
        path: 'members',
        value: [{ display: 'Babs Jensen', $ref: `https://example.com/v2/Users/${babs.id}`, value: babs.id }],
      };
      const res = await scim.patch(`/Groups/${group.id}`, [op]);
      expect(res.status, res.text).toBe(200);
      expect(await members()).toEqual([babs.id]);
      expect((await scim.patch(`/Groups/${group.id}`, [op])).status).toBe(200);
      expect(await members()).toEqual([babs.id]);
    });

    test('RFC 7644 §3.5.2.2: remove one member by members[value eq "…"], then a member who is not there changes nothing', async () => {
      await scim.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: mandy.id }] }]);
      const res = await scim.patch(`/Groups/${group.id}`, [{ op: 'remove', path: `members[value eq "${babs.id}"]` }]);
      expect(res.status, res.text).toBe(200);
      expect(await members()).toEqual([mandy.id]);
      const again = await scim.patch(`/Groups/${group.id}`, [{ op: 'remove', path: `members[value eq "${babs.id}"]` }]);
      expect(again.status, again.text).toBe(200);
      expect(await members()).toEqual([mandy.id]);
    });

    test('RFC 7644 §3.5.2.2: remove all members with path "members"', async () => {
      await scim.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: babs.id }] }]);
      const res = await scim.patch(`/Groups/${group.id}`, [{ op: 'remove', path: 'members' }]);
      expect(res.status, res.text).toBe(200);
      expect(res.body).not.toHaveProperty('members');
      expect(await members()).toEqual([]);
    });

    test('RFC 7644 §3.5.2.2: the RFC example that removes all members and adds one in one PATCH', async () => {
      await scim.patch(`/Groups/${group.id}`, [{ op: 'add', path: 'members', value: [{ value: babs.id }] }]);
      const res = await scim.patch(`/Groups/${group.id}`, [
        { op: 'remove', path: 'members' },
        { op: 'add', path: 'members', value: [{ display: 'Mandy Pepperidge', value: mandy.id }] },
      ]);
      expect(res.status, res.text).toBe(200);
      expect(await members()).toEqual([mandy.id]);
    });

    test('RFC 7644 §3.5.2.3: replace members with a new list', async () => {
      const res = await scim.patch(`/Groups/${group.id}`, [
        { op: 'replace', path: 'members', value: [{ value: babs.id }, { value: mandy.id }] },
      ]);
      expect(res.status, res.text).toBe(200);
      expect(await members()).toEqual([babs.id, mandy.id].sort());
    });

    test('RFC 7644 §3.5.2.3: replace without a path takes an object of attributes (displayName, externalId)', async () => {
      const name = fresh('Replaced Name');
      const res = await scim.patch(`/Groups/${group.id}`, [
        { op: 'replace', value: { displayName: name, externalId: 'ext-1', id: 'ignored' } },
      ]);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({ id: group.id, displayName: name, externalId: 'ext-1' });
    });

    test('Entra ID removes members by naming them in the value of a remove of "members", with "Remove" capitalised', async () => {
      await scim.patch(`/Groups/${group.id}`, [
        { op: 'replace', path: 'members', value: [{ value: babs.id }, { value: mandy.id }] },
      ]);
      const res = await scim.patch(`/Groups/${group.id}`, [{ op: 'Remove', path: 'members', value: [{ value: babs.id }] }]);
      expect(res.status, res.text).toBe(200);
      expect(await members()).toEqual([mandy.id]);
    });
  });

  describe('RFC 7644 §3.5.2: PATCH of a person', () => {
    test('RFC 7644 §3.5.2.3: replace without a path, as the RFC example does with emails and nickName', async () => {
      const made = await created(await scim.post('/Users', fullUser(fresh('nopath'), email('nopath'))));
      const res = await scim.patch(`/Users/${made.id}`, [
        { op: 'replace', value: { emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }], nickName: 'Babs' } },
      ]);
      expect(res.status, res.text).toBe(200);
      expect(res.body).toMatchObject({
        nickName: 'Babs',
        emails: [{ value: 'bjensen@example.com', type: 'work', primary: true }],
      });
      expect(res.body.title).toBe('Tour Guide');
    });

    test('RFC 7644 §3.5.2: a value-filtered sub-attribute emails[type eq "work"].value is replaced, and added when no value matches', async () => {
      const made = await created(await scim.post('/Users', fullUser(fresh('filtered'), email('filtered'))));
      const res = await scim.patch(`/Users/${made.id}`, [
        { op: 'replace', path: 'emails[type eq "work"].value', value: 'new-work@example.com' },
        { op: 'add', path: 'phoneNumbers[type eq "fax"].value', value: '555-555-0000' },
        { op: 'replace', path: 'name.givenName', value: 'Barb' },
      ]);
      expect(res.status, res.text).toBe(200);
      expect(res.body.emails).toEqual([
        { value: 'new-work@example.com', type: 'work', primary: true },
        expect.objectContaining({ type: 'home' }),
      ]);
      expect(res.body.phoneNumbers).toContainEqual({ type: 'fax', value: '555-555-0000' });
      expect(res.body.name.givenName).toBe('Barb');
    });

    test("RFC 7644 §3.5.2: attributes of the enterprise extension are patched by their URN path, and Entra ID's manager id as a string", async () => {
      const made = await created(await scim.post('/Users', minimalUser(email('ext-patch'))));
      const urn = SCIM_SCHEMAS.enterpriseUser;
      const res = await scim.patch(`/Users/${made.id}`, [
        { op: 'Add', path: `${urn}:department`, value: 'Tour Operations' },
        { op: 'Add', path: `${urn}:manager`, value: '26118915-6090-4610-87e4-49d8ca9f808d' },
      ]);
      expect(res.status, res.text).toBe(200);
      expect(res.body.schemas).toContain(urn);
      expect(res.body[urn]).toEqual({
        department: 'Tour Operations',
        manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d' },
      });
    });

    test('RFC 7644 §3.5.2 and §3.12: an unknown path is invalidPath, a read-only one mutability, a remove without path noTarget, a replace whose filter selects nothing noTarget', async () => {
      const made = await person('patch-errors');
      const cases: [unknown[], string][] = [
        [[{ op: 'replace', path: 'addresses[type eq "work"].streetAddress', value: '1010 Broadway Ave' }], 'invalidPath'],
        [[{ op: 'replace', path: 'name.nonsense', value: 'x' }], 'invalidPath'],
        [[{ op: 'replace', path: 'emails[type eq "work"', value: 'x' }], 'invalidPath'],
        [[{ op: 'replace', path: 'id', value: '2819c223-7f76-453a-919d-413861904646' }], 'mutability'],
        [[{ op: 'add', path: 'groups', value: [{ value: made.id }] }], 'mutability'],
        [[{ op: 'remove' }], 'noTarget'],
        [[{ op: 'replace', path: 'emails[type eq "home"]', value: { value: 'x@example.com' } }], 'noTarget'],
        [[{ op: 'replace', path: 'userName', value: '' }], 'invalidValue'],
        [[{ op: 'move', path: 'userName', value: 'x' }], 'invalidValue'],
      ];
      for (const [operations, scimType] of cases) {
        const res = await scim.patch(`/Users/${made.id}`, operations);
        expectScimError(res, 400, scimType);
      }
      // Nothing of a refused PATCH is kept.
      expect((await scim.get(`/Users/${made.id}`)).body.userName).toBe(made.userName);
    });
  });
});

describe('RFC 7644 §3.6: deleting resources', () => {
  test('RFC 7644 §3.6: DELETE answers 204, and the person is a 404 afterwards', async () => {
    const babs = await person('delete');
    const res = await scim.delete(`/Users/${babs.id}`);
    expect(res.status, res.text).toBe(204);
    expect(res.text).toBe('');
    expectScimError(await scim.get(`/Users/${babs.id}`), 404);
    expectScimError(await scim.delete(`/Users/${babs.id}`), 404);
  });

  test('RFC 7644 §3.6: DELETE of a group answers 204, and the group is a 404 afterwards', async () => {
    const group = await created(await scim.post('/Groups', tourGuides(fresh('Deleted'), [])));
    expect((await scim.delete(`/Groups/${group.id}`)).status).toBe(204);
    expectScimError(await scim.get(`/Groups/${group.id}`), 404);
  });
});

describe('RFC 7644 §3.12: errors', () => {
  test('RFC 7644 §3.12: malformed JSON is invalidSyntax, a wrong type is invalidValue with the field path in detail', async () => {
    expectScimError(await scim.send('POST', '/Users', { raw: '{"userName": ' }), 400, 'invalidSyntax');
    const res = await scim.post('/Users', { schemas: [SCIM_SCHEMAS.user], userName: 42 });
    expectScimError(res, 400, 'invalidValue');
    expect(res.body.detail).toContain('body.userName');
  });

  test('RFC 7644 §3.12: a request without a token is a 401, an unsupported endpoint (/Bulk, /Me) a 404 and a method a 405, each a SCIM error document', async () => {
    const anonymous = await api.server.app.request(`${scim.base}/Users`);
    expect(anonymous.status).toBe(401);
    const body = (await anonymous.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '401' });
    expect(body.detail).toContain('organisation token');
    expect(anonymous.headers.get('www-authenticate')).toBe('Bearer');
    expectScimError(
      await scim.post('/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] }),
      404,
    );
    expectScimError(await scim.get('/Me'), 404);
    expectScimError(await scim.send('DELETE', '/ServiceProviderConfig'), 405);
  });
});

describe('RFC 7644 §4: discovery', () => {
  test('RFC 7644 §4: ServiceProviderConfig says PATCH and filters (at most 200 results) are supported, and bulk, sorting, ETags and password changes are not', async () => {
    const res = await scim.get('/ServiceProviderConfig');
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({
      schemas: [SCIM_SCHEMAS.serviceProviderConfig],
      patch: { supported: true },
      bulk: { supported: false },
      filter: { supported: true, maxResults: SCIM_PAGE_MAX },
      changePassword: { supported: false },
      sort: { supported: false },
      etag: { supported: false },
      authenticationSchemes: [expect.objectContaining({ type: 'oauthbearertoken' })],
    });
  });

  test('RFC 7644 §4: ResourceTypes lists User (with the enterprise extension) and Group, each also by id', async () => {
    const res = await scim.get('/ResourceTypes');
    expect(res.status, res.text).toBe(200);
    expect(res.body.totalResults).toBe(2);
    const user = res.body.Resources.find((r: { id: string }) => r.id === 'User');
    expect(user).toMatchObject({
      endpoint: '/Users',
      schema: SCIM_SCHEMAS.user,
      schemaExtensions: [{ schema: SCIM_SCHEMAS.enterpriseUser, required: false }],
    });
    expect((await scim.get('/ResourceTypes/Group')).body).toMatchObject({
      id: 'Group',
      endpoint: '/Groups',
      schema: SCIM_SCHEMAS.group,
    });
    expectScimError(await scim.get('/ResourceTypes/Nope'), 404);
  });

  test('RFC 7644 §4 and RFC 7643 §7: Schemas describes the attributes kept, each schema also by its URN', async () => {
    const res = await scim.get('/Schemas');
    expect(res.status, res.text).toBe(200);
    expect(res.body.Resources.map((s: { id: string }) => s.id)).toEqual([
      SCIM_SCHEMAS.user,
      SCIM_SCHEMAS.enterpriseUser,
      SCIM_SCHEMAS.group,
    ]);
    const user = await scim.get(`/Schemas/${SCIM_SCHEMAS.user}`);
    expect(user.status, user.text).toBe(200);
    const userName = user.body.attributes.find((a: { name: string }) => a.name === 'userName');
    expect(userName).toMatchObject({
      type: 'string',
      required: true,
      caseExact: false,
      uniqueness: 'server',
      multiValued: false,
    });
    const emails = user.body.attributes.find((a: { name: string }) => a.name === 'emails');
    expect(emails.subAttributes.map((a: { name: string }) => a.name)).toEqual(['value', 'display', 'type', 'primary']);
  });
});

describe('malformed input on every SCIM route of the table', () => {
  const directoryRoutes = (Object.entries(routes) as [RouteName, RouteDef][]).filter(([, r]) => r.access.organisationTokenOnly);
  /** The route's path under the base URL, its id a fresh one (bodies are checked before any lookup). */
  const under = (route: RouteDef) =>
    route.path.slice(route.path.indexOf('/scim/v2') + '/scim/v2'.length).replace(':id', randomUUID());

  test.each(directoryRoutes.filter(([, r]) => r.body))(
    '%s: malformed JSON is invalidSyntax, another media type a 415, no body a 400 and an oversized body a 413, each a SCIM error',
    async (_name, route) => {
      const path = under(route);
      expectScimError(await scim.send(route.method, path, { raw: '{"userName": ' }), 400, 'invalidSyntax');
      expectScimError(await scim.send(route.method, path, { raw: '{}', headers: { 'content-type': 'text/plain' } }), 415);
      const empty = await scim.send(route.method, path, {});
      expectScimError(empty, 400, 'invalidValue');
      expect(empty.body.detail).toContain('body');
      expectScimError(
        await scim.send(route.method, path, { raw: JSON.stringify({ pad: 'x'.repeat(SCIM_BODY_BYTES + 1) }) }),
        413,
      );
    },
  );

  test.each(directoryRoutes)('%s: a query parameter it does not take is a 400 naming it', async (_name, route) => {
    const res = await scim.send(route.method, `${under(route)}?sneaky=1`, route.body ? { body: {} } : {});
    expectScimError(res, 400, 'invalidValue');
    expect(res.body.detail).toContain('query.sneaky');
  });
});
