import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../src/executors/final-state.js';
import type { WorkerHandle } from '../src/worker.js';
import { buildDemoBundle } from './support/bundle.js';
import { FAKE_WORKER_KEY, FakeApi } from './support/fake-api.js';
import { tearDown } from './support/leaks.js';
import { S3TestServer } from './support/s3-server.js';
import { startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

const CREDS = { AWS_ACCESS_KEY_ID: 'AKIAWORKERTEST01', AWS_SECRET_ACCESS_KEY: 'worker-s3-secret/Key+value' };

describe('task results in S3, through the worker', () => {
  let scratch: string;
  let bundle: { dir: string; source: string; entrypoint: string };
  let api: FakeApi;
  let s3: S3TestServer;
  let worker: WorkerHandle;
  const outcomes: RunOutcome[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-s3-'));
    bundle = await buildDemoBundle();
    s3 = new S3TestServer({ accessKeyId: CREDS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDS.AWS_SECRET_ACCESS_KEY }, ['results']);
    await s3.start();
    api = new FakeApi();
    await api.start();
    worker = await startTestWorker({
      apiUrl: api.url,
      apiKey: FAKE_WORKER_KEY,
      scratch,
      args: [
        '--heartbeat-interval',
        '300ms',
        '--poll-wait',
        '200ms',
        '--result-storage',
        `s3://results/cache?endpoint=${encodeURIComponent(s3.url)}&region=eu-central-1`,
      ],
      env: CREDS,
      hooks: { onRunFinished: (o) => outcomes.push(o) },
    });
  });

  afterAll(() => tearDown(worker, api, s3, bundle?.dir, scratch));

  it('stores a cached task result in the bucket, reads it back, and sends the control plane neither it nor the credentials', async () => {
    const id = api.enqueue({ ...bundle, flowName: 'cached' });
    const outcome = await waitFor(() => outcomes.find((o) => o.runId === id), 60_000, 'the cached run');
    expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    const objects = [...s3.objects.entries()].filter(([key]) => key.startsWith('results/cache/'));
    // Beside the task's cached result, the run stores its own return value (`flow-<hash>`) for runDeployment's result().
    const stored = objects.filter(([key]) => !key.startsWith('results/cache/flow-'));
    expect(stored).toHaveLength(1);
    expect(objects.filter(([key]) => key.startsWith('results/cache/flow-'))).toHaveLength(1);
    expect(stored[0]![1].body.toString('utf8')).toContain('"rows":10000');
    expect(s3.refused).toBe(0);
    const run = api.runs.get(id)!;
    const text = [...run.logs.values()].map((l) => l.message).join('\n');
    expect(text).toContain('cache hit');
    expect(text).toContain('rows 10000 then 10000; key id ***, secret ***');
    const everything = JSON.stringify({ logs: [...run.logs.values()], states: run.states });
    expect(everything).not.toContain(CREDS.AWS_SECRET_ACCESS_KEY);
    expect(everything).not.toContain(CREDS.AWS_ACCESS_KEY_ID);
    expect(everything).not.toContain('"rows":10000');
  });
});
