import { randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { deployAssets, materializeThrough } from './api.support.js';
import { outpostOn } from './cli.support.js';

/*
 * `outpost assets get` on assets with automation and freshness policies, against a real API whose
 * asset automation loop runs: the decisions it took and the freshness it sees are shown.
 */
let server: TestServer;
const SOURCE = `oci://127.0.0.1:5000/acme/assets@sha256:${'b'.repeat(64)}`;

function outpost(args: string[]) {
  return outpostOn(server, args);
}

async function until<T>(what: string, probe: () => Promise<T | null>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== null) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

beforeAll(async () => {
  server = await startTestServer({ loops: true, assetAutomation: { idleMs: 200, busyMs: 50 } });
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  await deployAssets(owner, 'lake', SOURCE, [
    { key: 'raw', codeVersion: 'v1' },
    { key: 'features', deps: ['raw'], codeVersion: 'v1', automation: { onUpstreamUpdate: true } },
    // About a second: never materialised, it is soon overdue.
    { key: 'scores', codeVersion: 'v1', freshness: { maxLagMinutes: 0.02 } },
  ]);
  const worker = new OutpostClient({ baseUrl: server.url, token: await server.createKey('worker', ['default']) });
  await materializeThrough(server, owner, worker, { assets: ['raw'] }, [
    {
      kind: 'materialization',
      id: randomUUID(),
      assetKey: 'raw',
      partitionKey: null,
      codeVersion: 'v1',
      dataVersion: 'd1',
      metadata: {},
      durationMs: 1,
    },
  ]);
}, 60_000);

afterAll(async () => {
  await server?.close();
});

describe('outpost assets get with policies', () => {
  test('shows the automation policy in words and the run the loop requested, with why', async () => {
    const shown = await until('the loop to request features', async () => {
      const out = await outpost(['assets', 'get', 'features']);
      return out.stdout.includes('requested') ? out : null;
    });
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('automation    materialise when an upstream is materialised');
    expect(shown.stdout).toMatch(/requested .*upstream raw was materialised .* and this never was/);
    const asJson = JSON.parse((await outpost(['assets', 'get', 'features', '--json'])).stdout);
    expect(asJson.evaluations[0]).toMatchObject({ reason: 'upstream_updated', outcome: 'REQUESTED' });
  });

  test('shows an asset past its freshness bound as OVERDUE', async () => {
    const shown = await until('scores to be overdue', async () => {
      const out = await outpost(['assets', 'get', 'scores']);
      return out.stdout.includes('health        OVERDUE') ? out : null;
    });
    expect(shown.stdout).toContain('freshness     at most 0.02 min old: OVERDUE');
    const listed = await outpost(['assets', 'ls', '--health', 'OVERDUE']);
    expect(listed.stdout).toContain('scores');
    expect(listed.stdout).not.toContain('features');
  });
});
