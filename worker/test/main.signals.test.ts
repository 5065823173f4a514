import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessRunning } from '../src/process-group.js';
import { startTestServer } from './support/api-testing.js';
import { buildDemoBundle, reportedGrandchild } from './support/bundle.js';
import { tearDown } from './support/leaks.js';
import { runMain } from './support/main-process.js';
import { QUICK_WORKER_ARGS } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

describe('outpost-worker', () => {
  it('prints its usage and exits 0 for --help, and exits 2 naming the missing settings', async () => {
    const help = runMain(['start', '--help'], {});
    expect(await help.exited).toBe(0);
    expect(help.output()).toContain('--pool <name>');
    const bad = runMain(['start'], {});
    expect(await bad.exited).toBe(2);
    expect(bad.output()).toContain('OUTPOST_API_URL');
    expect(bad.output()).toContain('--pool');
  });

  describe('against the real API', () => {
    let server: TestServer;
    let owner: OutpostClient;
    let bundle: { dir: string; source: string; entrypoint: string };
    let scratch: string;

    beforeAll(async () => {
      server = await startTestServer();
      owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
      bundle = await buildDemoBundle();
      scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-'));
    });

    afterAll(() => tearDown(owner, server, bundle?.dir, scratch));

    it('drains on SIGTERM: stops claiming, hands a run still going after the grace back as CRASHED, and exits 0', async () => {
      const { deployment } = unwrap(
        await owner.call('deploymentsUpsert', {
          body: { flowName: 'sleepy', name: 'drain', source: bundle.source, entrypoint: bundle.entrypoint, workPool: 'default' },
        }),
      );
      const workerKey = await server.createKey('worker', ['default']);
      const worker = runMain(
        ['start', '--pool', 'default', '--name', 'drain-test', ...QUICK_WORKER_ARGS, '--drain-grace', '1s'],
        {
          OUTPOST_API_URL: server.url,
          OUTPOST_API_KEY: workerKey,
          OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
          OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
          OUTPOST_WORKER_LOG_BATCH_INTERVAL: '50ms',
          HOME: scratch,
        },
      );
      try {
        const workers = await waitFor(
          async () =>
            unwrap(await owner.call('workersList', { params: { pool: 'default' } })).items.find((w) => w.name === 'drain-test'),
          30_000,
          'the worker to register',
        );
        expect(workers.status).toBe('ONLINE');
        const { flowRun } = unwrap(await owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} }));
        const grandchild = await reportedGrandchild(owner, flowRun.id);
        worker.child.kill('SIGTERM');
        expect(await worker.exited).toBe(0);
        expect(isProcessRunning(grandchild)).toBe(false);
        const run = unwrap(await owner.call('flowRunsGet', { params: { id: flowRun.id } }));
        expect(run.state.type).toBe('CRASHED');
        expect(run.state.message).toContain('worker shut down');
        expect(worker.output()).toContain('"state":"draining"');
        expect(worker.output()).toContain('"state":"stopped"');
        expect(worker.output()).not.toContain(workerKey);
      } finally {
        if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      }
    });
  });
});
