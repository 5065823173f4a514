import { randomUUID } from 'node:crypto';
import { assetCheckEvent } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import { describe, expect, test } from 'vitest';
import { deployAssets, materializeThrough, useTestApi } from './api.support.js';
import { outpost as run } from './cli.support.js';

/*
 * `outpost assets …` and `outpost partitions …` against a real API: an asset graph registered the
 * way `outpost deploy` registers it, one run materialising it through a worker key, and a failed
 * blocking check for the waiver commands.
 */
let viewerKey: string;
let materializedBy: string;
const SOURCE = `oci://127.0.0.1:5000/acme/assets@sha256:${'a'.repeat(64)}`;

function outpost(args: string[], key = api.server.ownerKey) {
  return run(args, { env: { OUTPOST_API_URL: api.server.url, OUTPOST_API_KEY: key } });
}

const api = useTestApi(async ({ owner }) => {
  viewerKey = await api.server.createKey('viewer');
  const worker = new OutpostClient({ baseUrl: api.server.url, token: await api.server.createKey('worker', ['default']) });
  try {
    await deployAssets(owner, 'warehouse', SOURCE, [
      { key: 'raw/events', codeVersion: 'v1-raw', owners: ['data@acme.test'], description: 'Click events' },
      {
        key: 'features',
        deps: ['raw/events'],
        codeVersion: 'v1-features',
        checks: [{ name: 'no_null_ids', blocking: true }],
      },
      { key: 'model/churn', deps: ['features'], codeVersion: 'v1-model' },
      {
        key: 'daily/sales',
        codeVersion: 'v1-sales',
        partitions: { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-01-11', timezone: 'UTC' },
      },
      { key: 'customer/report', codeVersion: 'v1-report', partitions: { kind: 'dynamic', name: 'customers' } },
    ]);
    const materialization = (assetKey: string, codeVersion: string) => ({
      kind: 'materialization' as const,
      id: randomUUID(),
      assetKey,
      partitionKey: null,
      codeVersion,
      dataVersion: `sha256:${assetKey.length}abc`,
      metadata: { rows: 1200 },
      durationMs: 40,
    });
    materializedBy = await materializeThrough(
      api.server,
      owner,
      worker,
      { assets: ['features'], upstream: true },
      [
        materialization('raw/events', 'v1-raw'),
        materialization('features', 'v1-features'),
        assetCheckEvent('features', 'no_null_ids', false),
      ],
      { type: 'FAILED', message: 'blocking check failed' },
    );
  } finally {
    await worker.close();
  }
});

describe('outpost assets', () => {
  test('ls lists every asset with its health, partition counts and why it is what it is', async () => {
    const listed = await outpost(['assets', 'ls']);
    expect(listed.code, listed.stderr).toBe(0);
    const rows = listed.stdout.trimEnd().split('\n');
    expect(rows[0]?.split(/\s{2,}/)).toEqual(['KEY', 'HEALTH', 'LAST MATERIALISED (UTC)', 'PARTITIONS', 'DEPLOYMENT', 'WHY']);
    const byKey = new Map(rows.slice(1).map((r) => [r.split(/\s{2,}/)[0], r.split(/\s{2,}/)]));
    expect([...byKey.keys()].sort()).toEqual(['customer/report', 'daily/sales', 'features', 'model/churn', 'raw/events']);
    expect(byKey.get('features')?.[1]).toBe('BLOCKED');
    expect(byKey.get('features')?.at(-1)).toBe('check no_null_ids failed');
    // Downstream of the failed check: blocked too, though it has no check of its own.
    expect(byKey.get('model/churn')?.[1]).toBe('BLOCKED');
    expect(byKey.get('model/churn')?.at(-1)).toBe('blocked upstream');
    expect(byKey.get('daily/sales')?.[3]).toBe('0/10');

    const searched = await outpost(['assets', 'ls', '--search', 'click', '--json']);
    expect(JSON.parse(searched.stdout).map((a: { key: string }) => a.key)).toEqual(['raw/events']);
    const wrong = await outpost(['assets', 'ls', '--health', 'sparkly']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('--health must be one of MISSING, FRESH, STALE, FAILED, BLOCKED');
  });

  test('get shows the definition, the latest materialisation and each check with what it blocks', async () => {
    const shown = await outpost(['assets', 'get', 'features']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/upstream +raw\/events/);
    expect(shown.stdout).toMatch(/downstream +model\/churn/);
    expect(shown.stdout).toContain(`by run ${materializedBy}`);
    expect(shown.stdout).toContain('rows=1200');
    expect(shown.stdout).toMatch(/no_null_ids +yes +failed \(ERROR\) .* blocks downstream/);
    const missing = await outpost(['assets', 'get', 'nope']);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('cannot read asset nope');
  });

  test('materialize refuses what a failed blocking check blocks, and a waiver needs an admin and a reason', async () => {
    const blocked = await outpost(['assets', 'materialize', 'model/churn']);
    expect(blocked.code).not.toBe(0);
    expect(blocked.stderr).toContain('cannot materialise model/churn');
    expect(blocked.stderr).toContain('no_null_ids');

    const noReason = await outpost(['assets', 'waive', 'features', 'no_null_ids']);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason');
    const byViewer = await outpost(['assets', 'waive', 'features', 'no_null_ids', '--reason', 'known upstream gap'], viewerKey);
    expect(byViewer.code).toBe(3);
    const byOwner = await outpost(['assets', 'waive', 'features', 'no_null_ids', '--reason', 'known upstream gap']);
    expect(byOwner.code, byOwner.stderr).toBe(0);
    expect(byOwner.stdout).toMatch(/^waived features:no_null_ids by .+: downstream may materialise$/m);

    const made = await outpost(['assets', 'materialize', 'model/churn', '--json']);
    expect(made.code, made.stderr).toBe(0);
    const result = JSON.parse(made.stdout);
    expect(result).toMatchObject({ assets: ['model/churn'], backfillId: null });
    expect(result.flowRunId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test('partitions lists every partition with its status and counts them on stderr', async () => {
    const listed = await outpost(['assets', 'partitions', 'daily/sales']);
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stderr).toContain('10 partition(s): 0 materialised, 0 stale, 0 failed, 0 materialising, 10 missing');
    const rows = listed.stdout.trimEnd().split('\n').slice(1);
    expect(rows.map((r) => r.split(/\s{2,}/)[0])).toEqual(
      Array.from({ length: 10 }, (_, i) => `2026-01-${String(i + 1).padStart(2, '0')}`),
    );
    expect(rows.every((r) => r.split(/\s{2,}/)[1] === 'MISSING')).toBe(true);
  });

  test('history lists materialisations newest first with code and data versions', async () => {
    const listed = await outpost(['assets', 'history', 'raw/events', '--json']);
    expect(listed.code, listed.stderr).toBe(0);
    const items = JSON.parse(listed.stdout);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({
      assetKey: 'raw/events',
      flowRunId: materializedBy,
      codeVersion: 'v1-raw',
      metadata: { rows: 1200 },
    });
    const none = await outpost(['assets', 'history', 'model/churn']);
    expect(none.code).toBe(0);
    expect(none.stderr).toContain('model/churn has not been materialised');
  });
});

describe('outpost partitions', () => {
  test('add, ls and rm keep a dynamic set in the order keys were added, each key once', async () => {
    const added = await outpost(['partitions', 'add', 'customers', 'acme', 'globex']);
    expect(added.code, added.stderr).toBe(0);
    expect(added.stdout).toContain('added 2 key(s) to customers; it has 2');
    const again = await outpost(['partitions', 'add', 'customers', 'globex', 'initech']);
    expect(again.stdout).toContain('added 1 key(s) to customers; it has 3');
    expect((await outpost(['partitions', 'ls', 'customers'])).stdout.trim().split('\n')).toEqual(['acme', 'globex', 'initech']);
    const removed = await outpost(['partitions', 'rm', 'customers', 'globex']);
    expect(removed.code, removed.stderr).toBe(0);
    expect((await outpost(['partitions', 'ls', 'customers'])).stdout.trim().split('\n')).toEqual(['acme', 'initech']);
  });
});
