import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestServer } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import { pino } from 'pino';
import type { RunOutcome } from '../../src/executors/final-state.js';
import { parseOptions } from '../../src/options.js';
import { startWorker, type WorkerHandle } from '../../src/worker.js';
import { startTestServer } from './api-testing.js';
import { buildDemoBundle } from './bundle.js';
import { expectNoLiveChildren } from './leaks.js';

/** Something between the worker and the API (a proxy), started once the API listens. */
export interface Between {
  url: string;
  close: () => Promise<void>;
}

export interface DemoWorkerOptions {
  /** The worker's flags after `--pool default --name <name>`. */
  args: string[];
  name: string;
  /** Worker variables besides the API's URL and key and the cache and spool directories. */
  env?: Record<string, string>;
  /** The value of the `DB_PASSWORD` secret the demo flows map. */
  secret?: string;
  server?: Parameters<typeof startTestServer>[0];
  /** Puts something between the worker and the API; the worker talks to its URL. */
  between?: (apiUrl: string) => Promise<Between>;
}

export interface DemoWorker {
  server: TestServer;
  owner: OutpostClient;
  bundle: { dir: string; source: string; entrypoint: string };
  worker: WorkerHandle;
  /** Every run the worker finished, in order. */
  outcomes: RunOutcome[];
  /** Stops the worker at once and everything else, then checks no flow process is left. */
  close: () => Promise<void>;
}

/**
 * A real API, the demo flows' bundle, and a real worker of the `default` pool with no pre-started
 * processes, in a scratch home of its own: the set-up of the suites that watch what a worker does
 * with runs of the demo flows.
 */
export async function startDemoWorker(options: DemoWorkerOptions): Promise<DemoWorker> {
  const server = await startTestServer(options.server);
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const between = options.between ? await options.between(server.url) : null;
  const bundle = await buildDemoBundle();
  const scratch = mkdtempSync(join(tmpdir(), `outpost-worker-${options.name}-`));
  const outcomes: RunOutcome[] = [];
  const parsed = parseOptions(['--pool', 'default', '--name', options.name, ...options.args], {
    OUTPOST_API_URL: between?.url ?? server.url,
    OUTPOST_API_KEY: await server.createKey('worker', ['default']),
    OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
    OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
    OUTPOST_WORKER_PRESTART: '0',
    ...options.env,
  });
  const worker = await startWorker(parsed, {
    logger: pino({ level: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent' }),
    env: { PATH: process.env.PATH ?? '', HOME: scratch, DB_PASSWORD: options.secret ?? `${options.name}-secret` },
    onRunFinished: (o) => outcomes.push(o),
  });
  return {
    server,
    owner,
    bundle,
    worker,
    outcomes,
    close: async () => {
      await worker.stop({ graceMs: 0 });
      await between?.close();
      await owner.close();
      await server.close();
      rmSync(bundle.dir, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
      await expectNoLiveChildren();
    },
  };
}
