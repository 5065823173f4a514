import { createOrganisationToken, startTestServer, TestDnsServer, TestOidcProvider, type TestServer } from '@outpost/api/testing';
import { SCIM_GROUP_MEMBERS_MAX, SCIM_PATCH_OPERATIONS_MAX, SCIM_SCHEMAS } from '@outpost/sdk/contracts';
import {
  expectGroupMemberships,
  GRANTED_WORKSPACES,
  type Organisation,
  organisationOf,
  seedDirectoryPeople,
  seedSsoPeople,
} from './support/directory-setup.js';
import {
  expectJson,
  type Reply,
  scimCaller,
  send,
  signInThroughOrganisation,
  tenantWithRuns,
} from './support/organisation-http.js';
import { pause, percentile, type Row, row } from './support/row.js';

/**
 * What an organisation's directory (SCIM) and its own single sign-on cost at the scale the product
 * promises, a directory group of 10,000 people, against the same operations on 10 people, same
 * server and run: mapping a group's roles, adding members to a mapped group (and removing them),
 * changing the single sign-on mapping, one sign-in, and another tenant's latency while the directory
 * is busy. People are seeded with SQL; every measured operation goes through the API over HTTP on
 * 127.0.0.1, against real Postgres.
 */
export const timeoutSeconds = 300;

const CROWD = SCIM_GROUP_MEMBERS_MAX;
const FEW = 10;
/** Timed calls of each size for the roles and single sign-on mapping rows (a large one takes seconds). */
const SAMPLES = 5;
/** Timed PATCHes of each size, each followed by the removal it is paired with (the large pair took 15–25 s here). */
const PATCH_SAMPLES = 3;
const SIGN_INS = 20;
/** Calls of the other tenant with the directory idle; with it busy, as many as fit while it is. */
const IDLE_PROBES = 200;
const BUSY_MS = 20_000;
const SECRET_KEY = 'a server key of at least thirty-two characters';
const ROLES = ['developer', 'viewer'] as const;

export const notes = `### directory: SCIM groups and the organisation's single sign-on at ${CROWD.toLocaleString('en')} people
Each figure is the median of its samples (${SAMPLES} of each size; ${PATCH_SAMPLES} for the PATCHes; ${SIGN_INS} sign-ins), large and
small alternated, on one server and database. People are seeded with SQL (account, organisation member, and a directory
user or stored single sign-on groups); what is timed is one API call over HTTP on 127.0.0.1, request to last byte.
- **group roles PUT**: \`PUT /organisations/:org/groups/:id/roles\` by an owner's password session, granting roles in
  ${GRANTED_WORKSPACES} workspaces (BENCH_DIRECTORY_WORKSPACES), the role switched between developer and viewer each call, so
  every member's ${GRANTED_WORKSPACES} memberships change (${(GRANTED_WORKSPACES * CROWD).toLocaleString('en')} for the large
  group); each group's first grant is a warm-up. Baseline: the same call on a group of 10.
  The per-member row divides each by its group's size: below 1× the large group costs less per person than the small
  one (fixed costs amortised); a plan quadratic in the group would make it grow with the size.
- **SCIM PATCH adding members**: one \`PATCH /scim/v2/Groups/:id\` whose single \`add\` of \`members\` lists all 10,000 (a value
  list is bounded by the group's ${CROWD.toLocaleString('en')} members and the 2 MiB body, not by the ${SCIM_PATCH_OPERATIONS_MAX.toLocaleString('en')}-operation limit), into an
  empty group mapped to ${GRANTED_WORKSPACES} workspaces: ${(GRANTED_WORKSPACES * CROWD).toLocaleString('en')} memberships made.
  Each add is undone by one \`remove\` listing the same members (Entra ID's form), its own row: it deletes them all. Baseline: the same for 10 people.
  Every deleted membership fires the row trigger \`memberships_organisation_member_left\`. The recomputation's transaction
  runs with \`plan_cache_mode = force_custom_plan\` (db/directory.ts \`withLinearPlans\`), under which the trigger's DELETE
  was planned again for each row (10.4 s for this row at 3 workspaces; at 10, past the 30 s limit, so such a group
  could not be unmapped); since migration 0052 the membership triggers keep their cached plans
  (\`ALTER FUNCTION … SET plan_cache_mode = 'auto'\`), and removal costs about what adding does (3.1 s at 10 workspaces).
- **organisation SSO PUT**: \`PUT /organisations/:org/sso\` changing only the mapping (the group's role in ${GRANTED_WORKSPACES} workspaces,
  switched between developer and viewer), in an organisation where 10,000 people's last sign-in listed that group,
  against another organisation where 10 did. Same provider, same body.
- **organisation SSO sign-in**: the whole browser round trip (start → the test provider's authorize → callback with the
  state cookie; a session opened) of a returning person whose group 10,000 others hold, against one in the organisation
  of 10. The provider runs in this process.
- **another tenant**: \`GET /api/v1/flow-runs?limit=50\` with the owner key of a workspace of another organisation (60 runs
  in it), one call after another 10 ms apart, while the directory runs the 10,000-member operations above in a loop
  (roles PUT, PATCH add, PATCH remove, one at a time as one directory's calls are, in whole cycles until ${BUSY_MS / 1000} s
  have passed, the tenant calling until the last ends), against ${IDLE_PROBES} of the
  same calls with the directory idle, measured first. The directory's client shares the benchmark's process with the API:
  its bodies are built once and its answers read as text, not parsed.`;

async function timed(what: string, status: number, call: () => Promise<Reply>): Promise<number> {
  const started = performance.now();
  const reply = await call();
  const ms = performance.now() - started;
  if (reply.status !== status) throw new Error(`${what}: ${reply.status} ${reply.text.slice(0, 400)}`);
  return ms;
}

const median = (values: readonly number[]) => percentile(values, 50);

const members = (ids: readonly string[]) => ids.map((value) => ({ value }));

const patchBody = (op: 'add' | 'remove', ids: readonly string[]) =>
  JSON.stringify({ schemas: [SCIM_SCHEMAS.patchOp], Operations: [{ op, path: 'members', value: members(ids) }] });

/** The organisation's owner replacing what a group grants: `role` in each of its three workspaces. */
const rolesPut = (org: Organisation, group: string, role: string) => () =>
  org.owner.call('PUT', `/organisations/${org.slug}/groups/${group}/roles`, {
    roles: org.workspaces.map((workspace) => ({ workspace, role })),
  });

type Scim = ReturnType<typeof scimCaller>;

async function makeGroup(scim: Scim, displayName: string, ids: readonly string[]): Promise<string> {
  const reply = await scim('POST', '/Groups', { schemas: [SCIM_SCHEMAS.group], displayName, members: members(ids) });
  return expectJson<{ id: string }>(reply, 201, `group ${displayName}`).id;
}

/** Row 1: the owner maps a group of 10,000 and one of 10 to roles in three workspaces, alternately. */
async function groupRoles(server: TestServer, acme: Organisation, scim: Scim) {
  const crowd = await seedDirectoryPeople(server, acme, 'crowd', CROWD);
  const few = await seedDirectoryPeople(server, acme, 'few', FEW);
  const everyone = await makeGroup(scim, 'Everyone', crowd);
  const handful = await makeGroup(scim, 'Handful', few);
  await timed('the first roles of the handful', 200, rolesPut(acme, handful, 'viewer'));
  await timed('the first roles of everyone', 200, rolesPut(acme, everyone, 'viewer'));
  const big: number[] = [];
  const small: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const role = ROLES[i % 2] as string;
    small.push(await timed('the roles of the handful', 200, rolesPut(acme, handful, role)));
    big.push(await timed('the roles of everyone', 200, rolesPut(acme, everyone, role)));
  }
  await expectGroupMemberships(server, crowd, ROLES[(SAMPLES - 1) % 2] as string, GRANTED_WORKSPACES * CROWD);
  return { everyone, big, small };
}

/** Row 2: 10,000 people, and 10, added to an empty mapped group in one PATCH each, then removed in one. */
async function groupMembers(server: TestServer, acme: Organisation, scim: Scim) {
  const newcomers = await seedDirectoryPeople(server, acme, 'newcomer', CROWD);
  const fewNewcomers = await seedDirectoryPeople(server, acme, 'few-newcomer', FEW);
  const arrivals = await makeGroup(scim, 'Arrivals', []);
  const fewArrivals = await makeGroup(scim, 'Few arrivals', []);
  await timed('the roles of arrivals', 200, rolesPut(acme, arrivals, 'developer'));
  await timed('the roles of few arrivals', 200, rolesPut(acme, fewArrivals, 'developer'));
  const bodies = {
    addBig: patchBody('add', newcomers),
    removeBig: patchBody('remove', newcomers),
    addSmall: patchBody('add', fewNewcomers),
    removeSmall: patchBody('remove', fewNewcomers),
  };
  const patch = (group: string, body: string) => () => scim('PATCH', `/Groups/${group}`, body);
  const times = { addBig: [] as number[], addSmall: [] as number[], removeBig: [] as number[], removeSmall: [] as number[] };
  for (let i = 0; i < PATCH_SAMPLES; i++) {
    times.addSmall.push(await timed('adding 10', 200, patch(fewArrivals, bodies.addSmall)));
    times.removeSmall.push(await timed('removing 10', 200, patch(fewArrivals, bodies.removeSmall)));
    times.addBig.push(await timed('adding 10,000', 200, patch(arrivals, bodies.addBig)));
    if (i === 0) await expectGroupMemberships(server, newcomers, 'developer', GRANTED_WORKSPACES * CROWD);
    times.removeBig.push(await timed('removing 10,000', 200, patch(arrivals, bodies.removeBig)));
  }
  await expectGroupMemberships(server, newcomers, 'developer', 0);
  return { arrivals, addBig: bodies.addBig, removeBig: bodies.removeBig, times };
}

/** Sets an organisation's provider (the test one) with its mapping, and proves its domain through the test name server. */
async function setUpSso(org: Organisation, idp: TestOidcProvider, dns: TestDnsServer, group: string): Promise<void> {
  const set = expectJson<{ domains: { recordName: string; recordValue: string }[] }>(
    await org.owner.call('PUT', `/organisations/${org.slug}/sso`, {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      allowedDomains: [org.domain],
      groupRoles: org.workspaces.map((workspace) => ({ group, workspace, role: 'viewer' })),
    }),
    200,
    `the single sign-on of ${org.slug}`,
  );
  const domain = set.domains[0];
  if (!domain) throw new Error(`the single sign-on of ${org.slug} lists no domain`);
  dns.records.set(domain.recordName, [domain.recordValue]);
  const proven = await org.owner.call('POST', `/organisations/${org.slug}/sso/domains/${org.domain}/verify`);
  expectJson(proven, 200, `proving ${org.domain}`);
}

/** Row 3: the mapping changed where 10,000 people hold its group, and where 10 do. */
async function ssoMapping(server: TestServer, idp: TestOidcProvider, dns: TestDnsServer, big: Organisation, small: Organisation) {
  const everyone = await seedSsoPeople(server, big, 'sso-everyone', CROWD);
  await seedSsoPeople(server, small, 'sso-few', FEW);
  await setUpSso(big, idp, dns, 'sso-everyone');
  await setUpSso(small, idp, dns, 'sso-few');
  const change = (org: Organisation, group: string, role: string) => () =>
    org.owner.call('PUT', `/organisations/${org.slug}/sso`, {
      issuer: idp.issuer,
      clientId: idp.clientId,
      allowedDomains: [org.domain],
      groupRoles: org.workspaces.map((workspace) => ({ group, workspace, role })),
    });
  const times = { big: [] as number[], small: [] as number[] };
  for (let i = 0; i < SAMPLES; i++) {
    const role = ROLES[i % 2] as string;
    times.small.push(await timed('the mapping where 10 hold the group', 200, change(small, 'sso-few', role)));
    times.big.push(await timed('the mapping where 10,000 hold the group', 200, change(big, 'sso-everyone', role)));
  }
  await expectGroupMemberships(server, everyone, ROLES[(SAMPLES - 1) % 2] as string, GRANTED_WORKSPACES * CROWD);
  return times;
}

/** Row 4: a returning person's sign-in round trip in each organisation, alternately. */
async function ssoSignIns(server: TestServer, idp: TestOidcProvider, big: Organisation, small: Organisation) {
  const signIn = async (org: Organisation, name: string, group: string) => {
    const email = `${name}@${org.domain}`;
    idp.person = { sub: `sub-${email}`, email, emailVerified: true, groups: [group] };
    const started = performance.now();
    await signInThroughOrganisation(server, org.slug);
    return performance.now() - started;
  };
  // Their first sign-ins make their accounts; the provider's discovery and keys are fetched then too.
  await signIn(big, 'ada', 'sso-everyone');
  await signIn(small, 'bea', 'sso-few');
  const times = { big: [] as number[], small: [] as number[] };
  for (let i = 0; i < SIGN_INS; i++) {
    times.small.push(await signIn(small, 'bea', 'sso-few'));
    times.big.push(await signIn(big, 'ada', 'sso-everyone'));
  }
  return times;
}

/** The tenant's runs list, one call after another 10 ms apart: at most `count`, within `ms`, until `stop()`. */
async function probe(server: TestServer, ownerKey: string, count: number, ms: number, stop: () => boolean): Promise<number[]> {
  const times: number[] = [];
  const until = performance.now() + ms;
  const list = () => send(`${server.url}/api/v1/flow-runs?limit=50`, 'GET', { authorization: `Bearer ${ownerKey}` });
  while (times.length < count && performance.now() < until && !stop()) {
    times.push(await timed("the tenant's runs list", 200, list));
    await pause(10);
  }
  return times;
}

/**
 * Row 5: the tenant's calls with the directory idle, then while the directory runs rows 1 and 2's
 * large calls in a loop, in whole cycles (roles PUT, PATCH add, PATCH remove) until BUSY_MS have passed.
 */
async function otherTenant(
  server: TestServer,
  acme: Organisation,
  scim: Scim,
  groups: { everyone: string; arrivals: string; addBig: string; removeBig: string },
) {
  const tenant = await tenantWithRuns(server, 'bench-directory');
  const idle = await probe(server, tenant, IDLE_PROBES, Number.POSITIVE_INFINITY, () => false);
  let calls = 0;
  let done = false;
  let failure: unknown = null;
  const until = performance.now() + BUSY_MS;
  const directory = (async () => {
    for (let cycle = 0; cycle === 0 || performance.now() < until; cycle++) {
      const steps = [
        // Row 1 left the group at ROLES[(SAMPLES - 1) % 2]: each cycle switches its role, as there.
        rolesPut(acme, groups.everyone, ROLES[(SAMPLES + cycle) % 2] as string),
        () => scim('PATCH', `/Groups/${groups.arrivals}`, groups.addBig),
        () => scim('PATCH', `/Groups/${groups.arrivals}`, groups.removeBig),
      ];
      for (const step of steps) {
        await timed("the busy directory's call", 200, step);
        calls++;
      }
    }
  })()
    .catch((error: unknown) => {
      failure = error;
    })
    .finally(() => {
      done = true;
    });
  const loaded = await probe(server, tenant, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, () => done);
  await directory;
  if (failure !== null) throw failure;
  return { idle, loaded, calls };
}

export async function run(): Promise<Row[]> {
  const idp = await new TestOidcProvider().start();
  const dns = await new TestDnsServer().start();
  let server: TestServer | null = null;
  try {
    server = await startTestServer({ loops: false, validateResponses: false, dnsServers: [dns.address], secretKey: SECRET_KEY });
    const acme = await organisationOf(server, server, 'acme', 'example.com');
    const tiny = await organisationOf(server, await server.createWorkspace(), 'tiny', 'example.org');
    const scim = scimCaller(
      server,
      acme.slug,
      await createOrganisationToken(server.sql, server.workspaceId, 'directory', ['scim']),
    );

    const roles = await groupRoles(server, acme, scim);
    const patched = await groupMembers(server, acme, scim);
    const mapping = await ssoMapping(server, idp, dns, acme, tiny);
    const signIns = await ssoSignIns(server, idp, acme, tiny);
    const tenant = await otherTenant(server, acme, scim, { ...patched, everyone: roles.everyone });

    const crowd = CROWD.toLocaleString('en');
    const { addBig, addSmall, removeBig, removeSmall } = patched.times;
    const idleNote = 'the same calls with the directory idle, same server and run';
    return [
      row(
        `group roles PUT, ${crowd} members, ${GRANTED_WORKSPACES} workspaces`,
        median(roles.big),
        'ms',
        median(roles.small),
        'the same call on a group of 10',
      ),
      row(
        'group roles PUT, per member',
        median(roles.big) / CROWD,
        'ms/member',
        median(roles.small) / FEW,
        'the group of 10, per member',
      ),
      row(`SCIM PATCH adding ${crowd} members (1 call)`, median(addBig), 'ms', median(addSmall), 'adding 10 to a mapped group'),
      row(
        'SCIM PATCH adding members, per member',
        median(addBig) / CROWD,
        'ms/member',
        median(addSmall) / FEW,
        'adding 10, per member',
      ),
      row(`SCIM PATCH removing ${crowd} members (1 call)`, median(removeBig), 'ms', median(removeSmall), 'removing 10'),
      row(
        `organisation SSO PUT of the mapping, ${crowd} people hold the group`,
        median(mapping.big),
        'ms',
        median(mapping.small),
        'the same change in an organisation where 10 hold it',
      ),
      row(
        `organisation SSO sign-in round trip, ${crowd} stored people`,
        median(signIns.big),
        'ms',
        median(signIns.small),
        'the same round trip in an organisation of 10 stored people',
      ),
      row(
        `another tenant's runs list, directory busy (p50; ${tenant.calls} directory calls)`,
        median(tenant.loaded),
        'ms',
        median(tenant.idle),
        idleNote,
      ),
      row(
        "another tenant's runs list, directory busy (p95)",
        percentile(tenant.loaded, 95),
        'ms',
        percentile(tenant.idle, 95),
        idleNote,
      ),
    ];
  } finally {
    await server?.close();
    await idp.close();
    await dns.close();
  }
}
