import { describe, expect, it } from 'vitest';
import { buildDemoBundle } from './support/bundle.js';
import { S3TestServer } from './support/s3-server.js';
import { useWorkerOnFakeApi } from './support/worker-on-fake-api.js';

const CREDS = { AWS_ACCESS_KEY_ID: 'AKIAWORKERTEST01', AWS_SECRET_ACCESS_KEY: 'worker-s3-secret/Key+value' };

describe('task results in S3, through the worker', () => {
  let bundle: { dir: string; source: string; entrypoint: string };
  let s3: S3TestServer;
  const suite = useWorkerOnFakeApi('worker-s3', async () => {
    bundle = await buildDemoBundle();
    s3 = new S3TestServer({ accessKeyId: CREDS.AWS_ACCESS_KEY_ID, secretAccessKey: CREDS.AWS_SECRET_ACCESS_KEY }, ['results']);
    await s3.start();
    return {
      args: ['--result-storage', `s3://results/cache?endpoint=${encodeURIComponent(s3.url)}&region=eu-central-1`],
      env: CREDS,
      cleanup: [s3, bundle.dir],
    };
  });

  it('stores a cached task result in the bucket, reads it back, and sends the control plane neither it nor the credentials', async () => {
    const id = suite.api.enqueue({ ...bundle, flowName: 'cached' });
    const outcome = await suite.outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    const objects = [...s3.objects.entries()].filter(([key]) => key.startsWith('results/cache/'));
    // Beside the task's cached result, the run stores its own return value (`flow-<hash>`) for runDeployment's result().
    const stored = objects.filter(([key]) => !key.startsWith('results/cache/flow-'));
    expect(stored).toHaveLength(1);
    expect(objects.filter(([key]) => key.startsWith('results/cache/flow-'))).toHaveLength(1);
    expect(stored[0]![1].body.toString('utf8')).toContain('"rows":10000');
    expect(s3.refused).toBe(0);
    const run = suite.api.runs.get(id)!;
    const text = [...run.logs.values()].map((l) => l.message).join('\n');
    expect(text).toContain('cache hit');
    expect(text).toContain('rows 10000 then 10000; key id ***, secret ***');
    const everything = JSON.stringify({ logs: [...run.logs.values()], states: run.states });
    expect(everything).not.toContain(CREDS.AWS_SECRET_ACCESS_KEY);
    expect(everything).not.toContain(CREDS.AWS_ACCESS_KEY_ID);
    expect(everything).not.toContain('"rows":10000');
  });
});
