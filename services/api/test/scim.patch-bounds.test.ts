import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  SCIM_FILTER_TERMS_MAX,
  SCIM_GROUP_MEMBERS_MAX,
  SCIM_PATCH_OPERATIONS_MAX,
  SCIM_PATCH_VALUES_MAX,
  SCIM_PATH_MAX_CHARS,
  SCIM_SCHEMAS,
} from '@outpost/sdk/contracts';
import { beforeAll, describe, expect, test } from 'vitest';
import { PATCH_WALK_STEPS_MAX } from '../src/identity/scim/patch.js';
import { createOrganisationToken } from '../src/testing/index.js';
import { organisationOf, useServer } from './helpers.js';
import { fresh, type ScimClient, scimClient } from './scim.support.js';

/*
 * A SCIM PATCH is bounded in what it may carry (refused before the organisation's lock, naming the
 * limit) and in how long it holds the event loop: at its bounds, against a group as large as a group
 * may be, it applies correctly in short slices. Real Postgres and the real app; people are seeded with
 * SQL, since what matters is the PATCH.
 */

let organisationId: string;
let scim: ScimClient;
/** SCIM_GROUP_MEMBERS_MAX people provisioned in the organisation, and one more. */
let crowd: string[];
let extra: string;

const api = useServer();

beforeAll(async () => {
  const home = await api.server.createWorkspace();
  const organisation = await organisationOf(api.server, home.workspaceId);
  organisationId = organisation.id;
  scim = scimClient(
    api.server,
    organisation.slug,
    await createOrganisationToken(api.server.sql, home.workspaceId, 'directory', ['scim']),
  );
  const tag = fresh('crowd');
  const ids = (
    await api.server.sql<{ id: string }[]>`
      WITH made AS (
        INSERT INTO users (email) SELECT ${tag} || '-' || i || '@example.com'
        FROM generate_series(1, ${SCIM_GROUP_MEMBERS_MAX + 1}) i RETURNING id, email)
      INSERT INTO directory_users (organisation_id, user_id, user_name) SELECT ${organisationId}, id, email FROM made
      RETURNING user_id AS id`
  ).map((r) => r.id);
  crowd = ids.slice(0, SCIM_GROUP_MEMBERS_MAX);
  extra = ids[SCIM_GROUP_MEMBERS_MAX] as string;
});

/** A group of these members, made through SCIM. */
async function groupOf(members: readonly string[]): Promise<string> {
  const res = await scim.post('/Groups', {
    schemas: [SCIM_SCHEMAS.group],
    displayName: fresh('Group'),
    members: members.map((value) => ({ value })),
  });
  expect(res.status, res.text.slice(0, 300)).toBe(201);
  return res.body.id;
}

async function membersOf(group: string): Promise<string[]> {
  const rows = await api.server.sql<{ user_id: string }[]>`SELECT user_id FROM directory_group_members WHERE group_id = ${group}`;
  return rows.map((r) => r.user_id).sort();
}

/** `members[value eq "<id>" or … or value eq "1" …]`: the ids, padded with short values to `terms` comparisons. */
function removalPath(ids: readonly string[], terms: number): string {
  const named = ids.map((id) => `value eq "${id}"`);
  const padding = Array.from({ length: terms - ids.length }, (_, i) => `value eq "${i}"`);
  return `members[${[...named, ...padding].join(' or ')}]`;
}

describe('what one PATCH may carry', () => {
  test(`an operation listing more than ${SCIM_PATCH_VALUES_MAX} values, or a PATCH listing more in all, is a SCIM 400 naming the limit that changes nothing`, async () => {
    const group = await groupOf(crowd.slice(0, 3));
    const before = await membersOf(group);
    const values = (n: number) => Array.from({ length: n }, (_, i) => ({ value: crowd[i % crowd.length] }));

    const one = await scim.patch(`/Groups/${group}`, [{ op: 'add', path: 'members', value: values(SCIM_PATCH_VALUES_MAX + 1) }]);
    expect(one.status, one.text.slice(0, 300)).toBe(400);
    expect(one.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'invalidValue' });
    expect(one.body.detail).toContain('at most 10,000 values in one operation');

    const half = Math.ceil((SCIM_PATCH_VALUES_MAX + 1) / 2);
    const all = await scim.patch(`/Groups/${group}`, [
      { op: 'add', path: 'members', value: values(half) },
      { op: 'remove', path: 'members', value: values(half) },
    ]);
    expect(all.status, all.text.slice(0, 300)).toBe(400);
    expect(all.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'invalidValue' });
    expect(all.body.detail).toContain("at most 10,000 values in all of one PATCH's operations");

    expect(await membersOf(group)).toEqual(before);
  });

  test(`a PATCH that would take a group past ${SCIM_GROUP_MEMBERS_MAX} members is a SCIM 400 naming the limit, and the group keeps its members`, async () => {
    const group = await groupOf(crowd);
    const res = await scim.patch(`/Groups/${group}`, [{ op: 'add', path: 'members', value: [{ value: extra }] }]);
    expect(res.status, res.text.slice(0, 300)).toBe(400);
    expect(res.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'invalidValue' });
    expect(res.body.detail).toContain('at most 10,000 members, the most a group holds');
    expect(await membersOf(group)).toHaveLength(SCIM_GROUP_MEMBERS_MAX);
    await scim.delete(`/Groups/${group}`);
  });

  test(`a filter of more than ${SCIM_FILTER_TERMS_MAX} comparisons is refused before any work, naming the operation and the limit`, async () => {
    const group = await groupOf(crowd.slice(0, 2));
    const res = await scim.patch(`/Groups/${group}`, [
      { op: 'add', path: 'members', value: [{ value: crowd[2] }] },
      { op: 'remove', path: removalPath([], SCIM_FILTER_TERMS_MAX + 1) },
    ]);
    expect(res.status, res.text).toBe(400);
    expect(res.body).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'invalidPath' });
    expect(res.body.detail).toContain(`Operations.1: the path`);
    expect(res.body.detail).toContain(`more than ${SCIM_FILTER_TERMS_MAX} comparisons`);
    expect(await membersOf(group)).toEqual(crowd.slice(0, 2).sort());
  });

  test(`value filters other than "value eq" that would test more than ${PATCH_WALK_STEPS_MAX} values of a group are a SCIM 400 tooMany naming the limit, and change nothing`, async () => {
    const group = await groupOf(crowd);
    // Each walks the 10,000 members at 50 comparisons: the fifth would pass 2 million.
    const path = `members[${Array.from({ length: SCIM_FILTER_TERMS_MAX }, (_, i) => `display eq "${i}"`).join(' or ')}]`;
    const res = await scim.patch(
      `/Groups/${group}`,
      Array.from({ length: 5 }, () => ({ op: 'remove', path })),
    );
    expect(res.status, res.text.slice(0, 300)).toBe(400);
    expect(res.body, res.text.slice(0, 600)).toMatchObject({ schemas: [SCIM_SCHEMAS.error], status: '400', scimType: 'tooMany' });
    expect(res.body.detail).toContain('more than 2,000,000 values');
    expect(await membersOf(group)).toHaveLength(SCIM_GROUP_MEMBERS_MAX);

    const within = await scim.patch(
      `/Groups/${group}`,
      Array.from({ length: 4 }, () => ({ op: 'remove', path })),
    );
    expect(within.status, within.text.slice(0, 300)).toBe(200);
    expect(within.body.members).toHaveLength(SCIM_GROUP_MEMBERS_MAX);
    await scim.delete(`/Groups/${group}`);
  });
});

describe('a PATCH at its bounds', () => {
  test(`${SCIM_PATCH_OPERATIONS_MAX} operations of ${SCIM_FILTER_TERMS_MAX}-comparison filters against a group of ${SCIM_GROUP_MEMBERS_MAX} apply correctly, in slices: the event loop is never held for long`, async () => {
    const group = await groupOf(crowd);
    // Four members named in each filter, padded to 50 comparisons, within the longest path.
    const perOperation = 4;
    const operations = Array.from({ length: SCIM_PATCH_OPERATIONS_MAX }, (_, i) => {
      const path = removalPath(crowd.slice(i * perOperation, (i + 1) * perOperation), SCIM_FILTER_TERMS_MAX);
      expect(path.length).toBeLessThanOrEqual(SCIM_PATH_MAX_CHARS);
      return { op: 'remove', path };
    });
    const removed = SCIM_PATCH_OPERATIONS_MAX * perOperation;

    const delay = monitorEventLoopDelay({ resolution: 1 });
    delay.enable();
    const started = performance.now();
    const res = await scim.patch(`/Groups/${group}`, operations);
    const took = performance.now() - started;
    delay.disable();
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(res.body.members).toHaveLength(SCIM_GROUP_MEMBERS_MAX - removed);
    expect(await membersOf(group)).toEqual(crowd.slice(removed).sort());
    // The whole request in this process (its JSON, its validation, the statements, the answer of
    // 6,000 members, and this test reading it): before, applying alone held the loop for up to 2 s.
    // The apply is in 4 ms slices; the bound is loose because a loaded test machine stretches every
    // tick (measured here: 20–120 ms on 2 busy cores), and is the bound the noisy-neighbour suite
    // holds another tenant's p99 to.
    const heldMs = delay.max / 1e6;
    console.info(`PATCH at the bounds: ${Math.round(took)} ms in all, the event loop held at most ${heldMs.toFixed(1)} ms`);
    expect(heldMs).toBeLessThan(1_000);
  });

  test('adding, replacing and removing members by value, and by chains of value eq, leaves each member once', async () => {
    const group = await groupOf(crowd.slice(0, 3));
    const [a, b, c, d, e] = crowd as [string, string, string, string, string];
    const res = await scim.patch(`/Groups/${group}`, [
      { op: 'add', path: 'members', value: [{ value: d }, { value: a }, { value: d }] },
      { op: 'remove', path: `members[value eq "${b}" or value eq "${e}"]` },
      { op: 'Remove', path: 'members', value: [{ value: c }] },
      { op: 'add', path: 'members', value: [{ value: e }, { value: b }] },
    ]);
    expect(res.status, res.text).toBe(200);
    expect(res.body.members.map((m: { value: string }) => m.value).sort()).toEqual([a, d, e, b].sort());
    const replaced = await scim.patch(`/Groups/${group}`, [
      { op: 'replace', path: 'members', value: [{ value: c }] },
      { op: 'add', path: 'members', value: [{ value: a }] },
      { op: 'remove', path: `members[value eq "${c}"]` },
    ]);
    expect(replaced.status, replaced.text).toBe(200);
    expect(replaced.body.members.map((m: { value: string }) => m.value)).toEqual([a]);
    expect(await membersOf(group)).toEqual([a]);
  });
});
