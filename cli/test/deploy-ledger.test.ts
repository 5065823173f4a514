import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Deployment, DeploymentUpsertRequest } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeployLedger } from '../src/deploy-ledger.js';

const SOURCE = `oci-layout:///tmp/registry@sha256:${'a'.repeat(64)}`;

const request = (overrides: Partial<DeploymentUpsertRequest> = {}): DeploymentUpsertRequest => ({
  flowName: 'hello',
  name: 'default',
  source: SOURCE,
  entrypoint: 'flows/hello.mjs',
  workPool: 'local',
  schedules: [{ slug: 'nightly', cron: '30 2 * * *', timezone: 'Europe/Berlin' }],
  ...overrides,
});

/** The server's copy: what a registration of `request()` returns, then possibly changed there. */
const onServer = (overrides: Partial<Deployment> = {}): Deployment => ({
  id: '00000000-0000-4000-8000-000000000001',
  flowId: '00000000-0000-4000-8000-000000000002',
  flowName: 'hello',
  name: 'default',
  description: null,
  source: SOURCE,
  entrypoint: 'flows/hello.mjs',
  parameterSchema: null,
  parameters: {},
  workPool: 'local',
  workQueue: 'default',
  tags: [],
  labels: {},
  jobVariables: {},
  retries: 0,
  retryDelaySeconds: 0,
  paused: false,
  createdAt: '2026-01-01T00:00:00.000Z',
  updatedAt: '2026-01-01T00:00:00.000Z',
  ...overrides,
});

describe('the ledger of what outpost dev registered', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'outpost-ledger-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('calls a deployment unchanged after a restart when its code and declaration are what it last sent, whatever the server changed since', async () => {
    const path = join(dir, 'kept.json');
    const ledger = await DeployLedger.open(path);
    expect(ledger.unchanged(onServer(), request())).toBe(false);
    ledger.record(onServer().id, request());
    await ledger.save();

    const reopened = await DeployLedger.open(path);
    // Concurrency limits are changed on the server, not in the request: they do not count.
    expect(reopened.unchanged(onServer({ concurrencyLimit: 2 }), request())).toBe(true);
    const reordered = Object.fromEntries(Object.entries(request()).reverse()) as DeploymentUpsertRequest;
    expect(reopened.unchanged(onServer(), reordered)).toBe(true);
  });

  it('calls it changed when the bundle, the config, or the deployment on the server is another', async () => {
    const ledger = await DeployLedger.open(join(dir, 'changed.json'));
    ledger.record(onServer().id, request());
    const other = `oci-layout:///tmp/registry@sha256:${'b'.repeat(64)}`;
    expect(ledger.unchanged(onServer(), request({ source: other }))).toBe(false);
    expect(ledger.unchanged(onServer({ source: other }), request())).toBe(false);
    expect(ledger.unchanged(onServer(), request({ schedules: [{ slug: 'nightly', cron: '0 3 * * *' }] }))).toBe(false);
    expect(ledger.unchanged(onServer(), request({ retries: 1 }))).toBe(false);
    // A wiped database has new ids: everything is registered again.
    expect(ledger.unchanged(onServer({ id: '00000000-0000-4000-8000-000000000009' }), request())).toBe(false);
  });

  it('starts empty from a file it cannot read, so everything is registered once more', async () => {
    const path = join(dir, 'torn.json');
    await writeFile(path, '{"version": 1, "deploym');
    const ledger = await DeployLedger.open(path);
    expect(ledger.unchanged(onServer(), request())).toBe(false);
  });
});
