import { randomUUID } from 'node:crypto';
import { assetCheckEvent } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { describe, expect, test } from 'vitest';
import { deployAssets, materializeThrough, useTestApi } from './api.support.js';
import { outpost as run } from './cli.support.js';

/*
 * `outpost assets lineage` against a real API: a partitioned feature asset and an unpartitioned
 * reference table feed a model registered in MLflow, whose failed check an admin waived.
 */
const SOURCE = `oci://127.0.0.1:5000/acme/assets@sha256:${'b'.repeat(64)}`;
const ids = { features: [] as string[], customers: '', model: '' };

function outpost(args: string[]) {
  return run(args, { env: { OUTPOST_API_URL: api.server.url, OUTPOST_API_KEY: api.server.ownerKey } });
}

function materialization(assetKey: string, partitionKey: string | null, extra: Record<string, unknown> = {}) {
  return {
    kind: 'materialization',
    id: randomUUID(),
    assetKey,
    partitionKey,
    codeVersion: `v1-${assetKey}`,
    dataVersion: `sha256:${assetKey.length}${partitionKey ?? ''}`,
    metadata: {},
    durationMs: 40,
    ...extra,
  };
}

const api = useTestApi(async ({ owner }) => {
  const worker = new OutpostClient({ baseUrl: api.server.url, token: await api.server.createKey('worker', ['default']) });
  try {
    await deployAssets(owner, 'churn', SOURCE, [
      {
        key: 'churn/features',
        codeVersion: 'v1-churn/features',
        partitions: { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-01-11', timezone: 'UTC' },
      },
      { key: 'ref/customers', codeVersion: 'v1-ref/customers' },
      {
        key: 'churn/model',
        deps: ['churn/features', 'ref/customers'],
        codeVersion: 'v1-churn/model',
        checks: [{ name: 'auc_floor', blocking: false, severity: 'WARN' }],
      },
    ]);
    for (const day of ['2026-01-01', '2026-01-02']) {
      const m = materialization('churn/features', day);
      ids.features.push(m.id);
      await materializeThrough(api.server, owner, worker, { assets: ['churn/features'], partitions: { keys: [day] } }, [m]);
    }
    const customers = materialization('ref/customers', null);
    ids.customers = customers.id;
    await materializeThrough(api.server, owner, worker, { assets: ['ref/customers'] }, [customers]);
    const model = materialization('churn/model', null, {
      metadata: { 'registered.mlflow': { name: 'churn', version: '3', uri: 'models:/churn/3' } },
    });
    ids.model = model.id;
    await materializeThrough(api.server, owner, worker, { assets: ['churn/model'] }, [
      model,
      assetCheckEvent('churn/model', 'auc_floor', false, null, {
        materializationId: model.id,
        severity: 'WARN',
        blocking: false,
        metadata: { auc: 0.71 },
      }),
    ]);
    const lead = unwrap(await owner.call('apiKeysCreate', { body: { name: 'ana-lima', role: 'admin' } }));
    const asLead = new OutpostClient({ baseUrl: api.server.url, token: lead.key });
    try {
      unwrap(
        await asLead.call('assetsWaive', {
          body: { assetKey: 'churn/model', checkName: 'auc_floor', reason: 'holiday week, approved for release' },
        }),
      );
    } finally {
      await asLead.close();
    }
  } finally {
    await worker.close();
  }
});

describe('outpost assets lineage', () => {
  test('prints the latest materialisation as a tree of what it consumed, with checks, waivers and registrations', async () => {
    const shown = await outpost(['assets', 'lineage', 'churn/model']);
    expect(shown.code, shown.stderr).toBe(0);
    const lines = shown.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`churn/model  ${ids.model}`);
    expect(shown.stdout).toContain('  code v1-churn/model  data sha256:11');
    expect(shown.stdout).toContain(`  source ${SOURCE}`);
    expect(shown.stdout).toContain('  registered in mlflow: name=churn uri=models:/churn/3 version=3');
    expect(shown.stdout).toContain('  check auc_floor: failed (WARN, not blocking)');
    expect(shown.stdout).toMatch(
      /^ {4}waived by ana-lima \d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} UTC: holiday week, approved for release$/m,
    );
    // Each input, then the upstream materialisations under it, newest partition first.
    const at = (text: string) => lines.indexOf(text);
    const features = at('  ← churn/features (2 partition(s))');
    const customers = at('  ← ref/customers');
    expect(features).toBeGreaterThan(0);
    expect(customers).toBeGreaterThan(features);
    expect(at(`    churn/features [2026-01-02]  ${ids.features[1]}`)).toBe(features + 1);
    expect(at(`    churn/features [2026-01-01]  ${ids.features[0]}`)).toBeGreaterThan(features + 1);
    expect(at(`    ref/customers  ${ids.customers}`)).toBe(customers + 1);
    expect(shown.stderr).toBe('');
  });

  test('--json prints the whole provenance document, and --depth 0 says on stderr that it was cut short', async () => {
    const printed = await outpost(['assets', 'lineage', 'churn/model', '--at', ids.model, '--json']);
    expect(printed.code, printed.stderr).toBe(0);
    const doc = JSON.parse(printed.stdout);
    expect(doc).toMatchObject({ materializationId: ids.model, truncated: false, omitted: 0 });
    expect(doc.materializations.map((m: { id: string }) => m.id)).toEqual([
      ids.model,
      ids.features[1],
      ids.features[0],
      ids.customers,
    ]);
    expect(doc.materializations[0].checks[0].waivers[0]).toMatchObject({ waivedBy: 'ana-lima' });

    const cut = await outpost(['assets', 'lineage', 'churn/model', '--depth', '0']);
    expect(cut.code, cut.stderr).toBe(0);
    expect(cut.stdout).toContain(`    churn/features [2026-01-02]  ${ids.features[1]}  code v1-churn/features`);
    expect(cut.stdout).toContain('(not shown)');
    expect(cut.stderr).toContain('the lineage is cut short (3 upstream materialisation(s) not shown');
  });

  test('an unknown asset or materialisation fails with a line saying which, and a bad --depth is a usage error', async () => {
    const unknown = await outpost(['assets', 'lineage', 'churn/nope']);
    expect(unknown.code).not.toBe(0);
    // The CLI's error shape: one line saying what failed, then the API's detail and the request id.
    expect(unknown.stderr.split('\n')[0]).toBe('error: cannot read the lineage of churn/nope: Not found');
    expect(unknown.stderr).toContain('asset "churn/nope" not found');
    const id = randomUUID();
    const missing = await outpost(['assets', 'lineage', 'churn/model', '--at', id]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain(`materialisation "${id}" of asset "churn/model" not found`);
    const badDepth = await outpost(['assets', 'lineage', 'churn/model', '--depth', '99']);
    expect(badDepth.code).toBe(2);
    expect(badDepth.stderr).toContain('--depth must be a whole number from 0 to 20, got "99"');
  });
});
