import { describe, expect, test } from 'vitest';
import { loadAssetNodes } from '../src/assets/db/asset-definitions.js';
import { type AssetWorld, asset, assetWorld, deployed } from './assets.support.js';
import { useServer } from './helpers.js';

const api = useServer();

const keys = (n: number, prefix = 'wh/t') => Array.from({ length: n }, (_, i) => `${prefix}${String(i).padStart(4, '0')}`);

/** What loadAssetNodes sends, by first word: the stamp is a SELECT of count(*), the full read names a.key first. */
async function traced(world: AssetWorld): Promise<{ nodes: Awaited<ReturnType<typeof loadAssetNodes>>; statements: string[] }> {
  const statements: string[] = [];
  const previous = api.server.sql.options.debug;
  api.server.sql.options.debug = (_connection, query) => {
    statements.push(query.trim().split(/\s+/).slice(0, 2).join(' '));
  };
  try {
    return { nodes: await loadAssetNodes(api.server.sql, world.ws.workspaceId), statements };
  } finally {
    api.server.sql.options.debug = previous;
  }
}

describe('the asset graph of a large workspace', () => {
  test('is decoded again only after its definitions change, and every change is seen at once', async () => {
    const world = await assetWorld(api.server);
    await deployed(
      world,
      keys(600).map((k) => asset(k)),
    );
    const first = await traced(world);
    expect(first.nodes).toHaveLength(600);
    expect(first.statements).toEqual(['SELECT a.key,']);

    // Unchanged: only the stamp is read.
    const again = await traced(world);
    expect(again.statements).toEqual(['SELECT count(*)::text']);
    expect(again.nodes.map((n) => n.key)).toEqual(first.nodes.map((n) => n.key));

    // A changed code version (same keys, same count) is a new row version: read again.
    await deployed(
      world,
      keys(600).map((k, i) => asset(k, i === 7 ? { codeVersion: 'v2' } : {})),
    );
    const changed = await traced(world);
    expect(changed.statements).toEqual(['SELECT count(*)::text', 'SELECT a.key,']);
    expect(changed.nodes.find((n) => n.key === 'wh/t0007')?.codeVersion).toBe('v2');

    // One key swapped for another (same count): read again.
    await deployed(
      world,
      [...keys(599), 'wh/other'].map((k) => asset(k, k === 'wh/t0007' ? { codeVersion: 'v2' } : {})),
    );
    const swapped = await traced(world);
    expect(swapped.statements).toEqual(['SELECT count(*)::text', 'SELECT a.key,']);
    expect(swapped.nodes.some((n) => n.key === 'wh/other')).toBe(true);
    expect(swapped.nodes.some((n) => n.key === 'wh/t0599')).toBe(false);
  });

  test('of another workspace is never the one read, and a small graph is read whole every time', async () => {
    const big = await assetWorld(api.server);
    const small = await assetWorld(api.server);
    await deployed(
      big,
      keys(600, 'big/').map((k) => asset(k)),
    );
    await deployed(
      small,
      keys(3, 'small/').map((k) => asset(k)),
    );
    await traced(big);
    const read = await traced(small);
    expect(read.nodes.map((n) => n.key)).toEqual(['small/0000', 'small/0001', 'small/0002']);
    expect((await traced(small)).statements).toEqual(['SELECT a.key,']);
    expect((await traced(big)).nodes.every((n) => n.key.startsWith('big/'))).toBe(true);
  });
});
