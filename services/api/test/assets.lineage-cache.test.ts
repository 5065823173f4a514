import { gunzipSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest';
import { lineage } from '../src/assets/catalog.js';
import { startTestServer, type TestServer } from '../src/testing.js';
import { type AssetWorld, asset, assetWorld, checkResult, deployed, materializeAll } from './assets.support.js';
import { client } from './helpers.js';

let server: TestServer;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
});
afterAll(async () => {
  await server?.close();
});
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
  const previous = server.sql.options.debug;
  server.sql.options.debug = (_connection, query) => {
    statements.push(query.trim().split(/\s+/).slice(0, 2).join(' '));
  };
  try {
    const view = await lineage(server.sql, world.ws.workspaceId);
    return { body: JSON.parse(new TextDecoder().decode(view.json().body)) as LineageBody, statements };
  } finally {
    server.sql.options.debug = previous;
  }
}

const STAMP = "SELECT concat_ws('/',";

describe('the lineage of a large workspace', () => {
  test('is evaluated again only after a fact changes, and a materialisation, a failed check, a waiver or a new definition shows in the next call', async () => {
    const world = await assetWorld(server);
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
    await materializeAll(server, world, { assets: ['raw', 'features'] });
    let body = await read(world);
    expect(nodeOf(body, 'raw')).toMatchObject({ health: 'FRESH', staleReason: null });
    expect(nodeOf(body, 'raw').lastMaterializedAt).not.toBeNull();
    expect(nodeOf(body, 'features').health).toBe('FRESH');
    expect(nodeOf(body, 'model').health).toBe('MISSING');
    expect((await traced(world)).statements).toEqual([STAMP]);

    // Upstream materialised again: its downstream is stale, with the reason.
    await materializeAll(server, world, { assets: ['raw'] });
    body = await read(world);
    expect(nodeOf(body, 'features').health).toBe('STALE');
    expect(nodeOf(body, 'features').staleReason).toMatch(/^upstream raw materialised /);

    // A failed blocking check, from a run of checks alone (nothing materialised): the asset and
    // everything downstream of it are blocked.
    await materializeAll(server, world, { assets: ['raw'], checksOnly: true }, () => [checkResult('raw', 'no_null_ids', false)]);
    body = await read(world);
    expect(nodeOf(body, 'raw')).toMatchObject({ health: 'BLOCKED', checks: { passed: 0, failed: 1, blocking: true } });
    expect(nodeOf(body, 'model').health).toBe('BLOCKED');

    // A waiver lifts the block.
    const admin = client(server, await world.ws.createKey('admin'));
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
    const world = await assetWorld(server);
    await deployed(world, [asset('hourly', { freshness: { maxLagMinutes: 60 } }), ...fillers(600)]);
    await materializeAll(server, world, { assets: ['hourly'] });
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
    const big = await assetWorld(server);
    const small = await assetWorld(server);
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
    const world = await assetWorld(server);
    await deployed(world, [asset('raw'), asset('model', { deps: ['raw'] }), ...fillers(600)]);
    const get = (headers: Record<string, string> = {}) =>
      server.app.request('/api/v1/assets/lineage', {
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

    await materializeAll(server, world, { assets: ['raw'] });
    const changed = await get({ 'if-none-match': etag });
    expect(changed.status).toBe(200);
    expect(changed.headers.get('etag')).not.toBe(etag);
    const raw = nodeOf((await changed.json()) as LineageBody, 'raw');
    expect(raw.lastMaterializedAt).not.toBeNull();
  });

  test("a small workspace's lineage, not kept between calls, carries an ETag of its content too", async () => {
    const world = await assetWorld(server);
    await deployed(world, [asset('raw'), asset('model', { deps: ['raw'] })]);
    const get = (headers: Record<string, string> = {}) =>
      server.app.request('/api/v1/assets/lineage', {
        headers: { authorization: `Bearer ${world.ws.ownerKey}`, ...headers },
      });
    const etag = (await get()).headers.get('etag') as string;
    expect(etag).toMatch(/^"[\w-]{27}"$/);
    expect((await get({ 'if-none-match': etag })).status).toBe(304);
    await materializeAll(server, world, { assets: ['raw'] });
    expect((await get({ 'if-none-match': etag })).status).toBe(200);
  });
});
