import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { lineage } from '../src/assets/catalog.js';
import { foldLineageChanges, lineageFactsStamp } from '../src/assets/db/lineage-changes.js';
import { createLogger } from '../src/logger.js';
import { RetentionLoop } from '../src/loops/retention.js';
import { type AssetWorld, asset, assetWorld, checkResult, deployed, materializeAll } from './assets.support.js';
import { client, useServer } from './helpers.js';

const api = useServer();

afterEach(() => {
  vi.useRealTimers();
});

/** Enough assets that the workspace's lineage is kept between calls (and its graph too). */
const fillers = (n: number) => Array.from({ length: n }, (_, i) => asset(`wh/f${String(i).padStart(4, '0')}`));

interface LineageNode {
  key: string;
  health: string;
  staleReason: string | null;
  lastMaterializedAt: string | null;
  checks: { passed: number; failed: number; blocking: boolean };
}
interface LineageBody {
  nodes: LineageNode[];
  edges: { from: string; to: string }[];
}

async function read(world: AssetWorld): Promise<LineageBody> {
  const res = await world.owner('GET', '/assets/lineage');
  expect(res.status, res.text).toBe(200);
  return res.body;
}

function nodeOf(body: LineageBody, key: string): LineageNode {
  const node = body.nodes.find((n) => n.key === key);
  expect(node, `node ${key}`).toBeDefined();
  return node as LineageNode;
}

/** The lineage read in this process, with the statements it sent (first two words of each). */
async function traced(world: AssetWorld): Promise<{ body: LineageBody; statements: string[] }> {
  const statements: string[] = [];
  const previous = api.server.sql.options.debug;
  api.server.sql.options.debug = (_connection, query) => {
    statements.push(query.trim().split(/\s+/).slice(0, 2).join(' '));
  };
  try {
    const view = await lineage(api.server.sql, world.ws.workspaceId);
    return { body: JSON.parse(new TextDecoder().decode(view.json().body)) as LineageBody, statements };
  } finally {
    api.server.sql.options.debug = previous;
  }
}

const STAMP = 'SELECT (coalesce((SELECT';

describe('the lineage of a large workspace', () => {
  test('is evaluated again only after a fact changes, and a materialisation, a failed check, a waiver or a new definition shows in the next call', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [
      asset('raw', { checks: [{ name: 'no_null_ids', blocking: true }] }),
      asset('features', { deps: ['raw'] }),
      asset('model', { deps: ['features'] }),
      ...fillers(600),
    ]);
    const first = await traced(world);
    expect(first.body.nodes).toHaveLength(603);
    expect(nodeOf(first.body, 'raw').health).toBe('MISSING');
    // Known to be large now: the next call reads the stamp first and evaluates, the one after reads only the stamp.
    expect((await traced(world)).statements[0]).toBe(STAMP);
    const kept = await traced(world);
    expect(kept.statements).toEqual([STAMP]);
    expect(kept.body).toEqual(first.body);

    // A materialisation.
    await materializeAll(api.server, world, { assets: ['raw', 'features'] });
    let body = await read(world);
    expect(nodeOf(body, 'raw')).toMatchObject({ health: 'FRESH', staleReason: null });
    expect(nodeOf(body, 'raw').lastMaterializedAt).not.toBeNull();
    expect(nodeOf(body, 'features').health).toBe('FRESH');
    expect(nodeOf(body, 'model').health).toBe('MISSING');
    expect((await traced(world)).statements).toEqual([STAMP]);

    // Upstream materialised again: its downstream is stale, with the reason.
    await materializeAll(api.server, world, { assets: ['raw'] });
    body = await read(world);
    expect(nodeOf(body, 'features').health).toBe('STALE');
    expect(nodeOf(body, 'features').staleReason).toMatch(/^upstream raw materialised /);

    // A failed blocking check, from a run of checks alone (nothing materialised): the asset and
    // everything downstream of it are blocked.
    await materializeAll(api.server, world, { assets: ['raw'], checksOnly: true }, () => [
      checkResult('raw', 'no_null_ids', false),
    ]);
    body = await read(world);
    expect(nodeOf(body, 'raw')).toMatchObject({ health: 'BLOCKED', checks: { passed: 0, failed: 1, blocking: true } });
    expect(nodeOf(body, 'model').health).toBe('BLOCKED');

    // A waiver lifts the block.
    const admin = client(api.server, await world.ws.createKey('admin'));
    const waived = await admin('POST', '/assets/waivers', {
      body: { assetKey: 'raw', checkName: 'no_null_ids', reason: 'ids are backfilled tomorrow' },
    });
    expect(waived.status, waived.text).toBe(201);
    body = await read(world);
    expect(nodeOf(body, 'raw')).toMatchObject({ checks: { passed: 0, failed: 1, blocking: false } });
    expect(nodeOf(body, 'raw').health).not.toBe('BLOCKED');
    expect(nodeOf(body, 'model').health).toBe('MISSING');

    // A new definition, and a changed one.
    await deployed(world, [
      asset('raw', { checks: [{ name: 'no_null_ids', blocking: true }] }),
      asset('features', { deps: ['raw'], codeVersion: 'v2' }),
      asset('model', { deps: ['features'] }),
      asset('late', { deps: ['raw'] }),
      ...fillers(600),
    ]);
    body = await read(world);
    expect(body.nodes).toHaveLength(604);
    expect(nodeOf(body, 'late').health).toBe('MISSING');
    expect(body.edges).toContainEqual({ from: 'raw', to: 'late' });
    expect(nodeOf(body, 'features').staleReason).toMatch(/^code version changed: /);
    expect((await traced(world)).statements).toEqual([STAMP]);
  });

  test('turns an asset OVERDUE when its freshness policy is violated by the clock alone', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('hourly', { freshness: { maxLagMinutes: 60 } }), ...fillers(600)]);
    await materializeAll(api.server, world, { assets: ['hourly'] });
    await traced(world);
    expect(nodeOf((await traced(world)).body, 'hourly').health).toBe('FRESH');

    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 2 * 60 * 60_000);
    const later = await traced(world);
    expect(later.statements).toEqual([STAMP]);
    expect(nodeOf(later.body, 'hourly').health).toBe('OVERDUE');
    expect(nodeOf(await read(world), 'hourly').health).toBe('OVERDUE');
  });

  test('of another workspace is never the one answered, and a small workspace is evaluated every time without a stamp', async () => {
    const big = await assetWorld(api.server);
    const small = await assetWorld(api.server);
    await deployed(big, fillers(600));
    await deployed(small, [asset('only')]);
    await traced(big);
    await traced(big);
    expect((await traced(small)).body.nodes.map((n) => n.key)).toEqual(['only']);
    const again = await traced(small);
    expect(again.statements).not.toContain(STAMP);
    expect(again.body.nodes.map((n) => n.key)).toEqual(['only']);
    expect((await read(big)).nodes).toHaveLength(600);
  });
});

describe('the lineage over HTTP', () => {
  test('carries an ETag: a client that holds it is answered 304 until a fact changes, and one that takes gzip gets the same JSON compressed', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('raw'), asset('model', { deps: ['raw'] }), ...fillers(600)]);
    const get = (headers: Record<string, string> = {}) =>
      api.server.app.request('/api/v1/assets/lineage', {
        headers: { authorization: `Bearer ${world.ws.ownerKey}`, ...headers },
      });
    const plain = await get();
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('cache-control')).toBe('private, no-cache');
    const etag = plain.headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    const json = await plain.text();
    expect((JSON.parse(json) as LineageBody).nodes).toHaveLength(602);

    const zipped = await get({ 'accept-encoding': 'gzip, deflate, br' });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(zipped.headers.get('etag')).toBe(etag);
    const bytes = Buffer.from(await zipped.arrayBuffer());
    expect(bytes.length).toBeLessThan(json.length / 4);
    expect(gunzipSync(bytes).toString('utf8')).toBe(json);

    const held = await get({ 'if-none-match': etag });
    expect(held.status).toBe(304);
    expect(await held.text()).toBe('');
    // A list of validators, one of them this one, weak or not, holds it too.
    expect((await get({ 'if-none-match': `"other", W/${etag}` })).status).toBe(304);

    await materializeAll(api.server, world, { assets: ['raw'] });
    const changed = await get({ 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    const raw = nodeOf((await changed.json()) as LineageBody, 'raw');
    expect(raw.lastMaterializedAt).not.toBeNull();
  });

  test("a small workspace's lineage, not kept between calls, carries an ETag of its content too", async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('raw'), asset('model', { deps: ['raw'] })]);
    const get = (headers: Record<string, string> = {}) =>
      api.server.app.request('/api/v1/assets/lineage', {
        headers: { authorization: `Bearer ${world.ws.ownerKey}`, ...headers },
      });
    const etag = (await get()).headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    expect((await get({ 'if-none-match': etag })).status).toBe(304);
    await materializeAll(api.server, world, { assets: ['raw'] });
    expect((await get({ 'if-none-match': etag })).status).toBe(200);
  });
});

describe('the stamp of the facts a lineage is derived from', () => {
  const stampOf = (world: AssetWorld) => lineageFactsStamp(api.server.sql, world.ws.workspaceId);
  const allLogRows = async () => {
    const [row] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM lineage_changes`;
    return row?.n ?? -1;
  };
  const logRows = async (world: AssetWorld) => {
    const [row] = await api.server.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM lineage_changes WHERE workspace_id = ${world.ws.workspaceId}`;
    return row?.n ?? -1;
  };

  test('moves after each kind of fact write and after a delete, and not after a write that changed nothing or one of another workspace', async () => {
    const world = await assetWorld(api.server);
    const other = await assetWorld(api.server);
    const admin = client(api.server, await world.ws.createKey('admin'));
    const raw = asset('raw', { checks: [{ name: 'no_null_ids', blocking: true }] });
    const customers = asset('customers', { partitions: { kind: 'dynamic', name: 'customers' } });
    const seen: string[] = [await stampOf(world)];
    const moved = async (what: string) => {
      const stamp = await stampOf(world);
      expect(seen, `the stamp after ${what}`).not.toContain(stamp);
      seen.push(stamp);
    };
    const stayed = async (what: string) => {
      expect(await stampOf(world), `the stamp after ${what}`).toBe(seen.at(-1));
    };

    await deployed(world, [raw, customers]);
    await moved('definitions inserted');
    await deployed(world, [raw, customers, asset('late', { deps: ['raw'] })]);
    await moved('a definition added');
    await deployed(world, [raw, { ...customers, codeVersion: 'v2' }, asset('late', { deps: ['raw'] })]);
    await moved('a definition changed');
    await deployed(world, [raw, { ...customers, codeVersion: 'v2' }]);
    await moved('a definition deleted');

    await materializeAll(api.server, world, { assets: ['raw'] });
    await moved('a materialisation (partition status)');
    await materializeAll(api.server, world, { assets: ['raw'], checksOnly: true }, () => [
      checkResult('raw', 'no_null_ids', false),
    ]);
    await moved('a check result');
    const waived = await admin('POST', '/assets/waivers', {
      body: { assetKey: 'raw', checkName: 'no_null_ids', reason: 'known gap' },
    });
    expect(waived.status, waived.text).toBe(201);
    await moved('a waiver');

    const added = await world.owner('POST', '/dynamic-partitions/customers', { body: { keys: ['acme', 'globex'] } });
    expect(added.body.added).toBe(2);
    await moved('dynamic partition keys added');
    const again = await world.owner('POST', '/dynamic-partitions/customers', { body: { keys: ['acme'] } });
    expect(again.body.added).toBe(0);
    await stayed('adding a key the set already has');
    expect((await world.owner('DELETE', '/dynamic-partitions/customers/acme')).status).toBe(204);
    await moved('a dynamic partition key deleted');

    await deployed(other, [raw, customers]);
    await materializeAll(api.server, other, { assets: ['raw'] });
    expect((await other.owner('POST', '/dynamic-partitions/customers', { body: { keys: ['acme'] } })).body.added).toBe(1);
    await stayed("another workspace's writes");
    expect(await logRows(other)).toBeGreaterThan(0);
  });

  test('is the same after the retention loop folds the log, at every step of it, and the next change moves it again', async () => {
    const worlds = [await assetWorld(api.server), await assetWorld(api.server)];
    for (const world of worlds) {
      await deployed(world, [asset('raw'), asset('model', { deps: ['raw'] })]);
      await materializeAll(api.server, world, { assets: ['raw', 'model'] });
    }
    const before = await Promise.all(worlds.map(stampOf));
    expect(Math.min(...(await Promise.all(worlds.map(logRows))))).toBeGreaterThanOrEqual(2);

    // A row at a time, of whichever workspace: the sums hold after each statement.
    for (let i = 0; i < 3; i++) {
      const rows = await allLogRows();
      expect(await foldLineageChanges(api.server.sql, 1)).toBe(1);
      expect(await allLogRows()).toBe(rows - 1);
      expect(await Promise.all(worlds.map(stampOf))).toEqual(before);
    }

    // The loop folds the rest (of every workspace) in bounded statements.
    const loop = new RetentionLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), {
      eventRetentionDays: null,
      lineageChangesPerBatch: 2,
      batchesPerPass: 1_000,
    });
    expect(await loop.tick()).toBe(0);
    expect(await allLogRows()).toBe(0);
    expect(await Promise.all(worlds.map(stampOf))).toEqual(before);
    expect(await foldLineageChanges(api.server.sql, 1)).toBe(0);
    expect(await loop.tick()).toBe(0);

    const [first, second] = worlds as [AssetWorld, AssetWorld];
    await materializeAll(api.server, first, { assets: ['raw'] });
    expect(await stampOf(first)).not.toBe(before[0]);
    expect(await stampOf(second)).toBe(before[1]);
  });

  test('moves when a change commits after a later-begun one, however early its transaction wrote', async () => {
    const world = await assetWorld(api.server);
    await deployed(world, [asset('raw'), asset('early'), ...fillers(600)]);
    const workspaceId = world.ws.workspaceId;
    await traced(world);

    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let wrote = () => {};
    const written = new Promise<void>((resolve) => {
      wrote = resolve;
    });
    // Writes a status for `early` (its row in the log gets the lower seq), then holds its transaction open.
    const late = api.server.sql.begin(async (tx) => {
      await tx`
        INSERT INTO asset_partitions (workspace_id, asset_key, partition_key, status, materialized_at)
        VALUES (${workspaceId}, 'early', '', 'MATERIALIZED', now())`;
      wrote();
      await held;
    });
    await written;
    const before = await stampOf(world);
    await materializeAll(api.server, world, { assets: ['raw'] });
    const middle = await stampOf(world);
    expect(middle).not.toBe(before);
    // Kept with the middle stamp: the held status is not in it.
    await traced(world);
    const kept = await traced(world);
    expect(kept.statements).toEqual([STAMP]);
    expect(nodeOf(kept.body, 'raw').lastMaterializedAt).not.toBeNull();
    expect(nodeOf(kept.body, 'early').lastMaterializedAt).toBeNull();

    release();
    await late;
    expect(await stampOf(world)).not.toBe(middle);
    const after = await traced(world);
    expect(after.statements).not.toEqual([STAMP]);
    expect(nodeOf(after.body, 'early').lastMaterializedAt).not.toBeNull();
  });
});
