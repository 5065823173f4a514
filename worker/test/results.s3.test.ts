import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerModuleUrl, resultStorageExecArgv } from '../src/results/exec-argv.js';
import { parseS3Url, S3Error, s3ResultStorageFromUrl } from '../src/results/s3.js';
import { tearDown } from './support/leaks.js';
import { S3TestServer } from './support/s3-server.js';

const run = promisify(execFile);

// The server checks every request's Signature V4 with its own implementation (see support/s3-server.ts).
describe('S3 result storage', () => {
  let server: S3TestServer;
  let endpoint: string;
  const creds = { AWS_ACCESS_KEY_ID: 'AKIAOUTPOSTTEST', AWS_SECRET_ACCESS_KEY: 'outpost/test/secret+key' };

  beforeAll(async () => {
    server = new S3TestServer({ accessKeyId: creds.AWS_ACCESS_KEY_ID, secretAccessKey: creds.AWS_SECRET_ACCESS_KEY }, [
      'results',
    ]);
    await server.start();
    endpoint = server.url;
  });

  afterAll(() => tearDown(server));

  const url = () => `s3://results/team-a/runs?endpoint=${encodeURIComponent(endpoint)}&region=eu-west-1`;

  it('parses bucket, prefix, endpoint and region from the URL', () => {
    expect(parseS3Url(url(), {})).toEqual({ bucket: 'results', prefix: 'team-a/runs', endpoint, region: 'eu-west-1' });
    expect(parseS3Url('s3://my-bucket', { AWS_REGION: 'ap-south-1' })).toEqual({
      bucket: 'my-bucket',
      prefix: '',
      endpoint: null,
      region: 'ap-south-1',
    });
    expect(() => parseS3Url('s3://Bad_Bucket/x', {})).toThrow(/bucket name/);
  });

  it('writes and reads results back through signed requests, under the prefix', async () => {
    const storage = s3ResultStorageFromUrl(url(), creds);
    const bytes = new TextEncoder().encode(JSON.stringify({ accuracy: 0.93 }));
    const { ref } = await storage.write('task-abc.json', bytes, { expiresAt: null });
    expect(ref).toBe('s3://results/team-a/runs/task-abc.json');
    expect(server.objects.get('results/team-a/runs/task-abc.json')?.body.toString()).toBe('{"accuracy":0.93}');
    expect(new TextDecoder().decode((await storage.read('task-abc.json'))!)).toBe('{"accuracy":0.93}');
    expect(await storage.read('never-written')).toBeNull();
  });

  it('treats an expired result as absent', async () => {
    const storage = s3ResultStorageFromUrl(url(), creds);
    await storage.write('old', new Uint8Array([1, 2, 3]), { expiresAt: new Date(Date.now() - 1000) });
    await storage.write('fresh', new Uint8Array([4]), { expiresAt: new Date(Date.now() + 60_000) });
    expect(await storage.read('old')).toBeNull();
    expect(await storage.read('fresh')).toEqual(new Uint8Array([4]));
  });

  it('is refused by the server when the secret key is wrong', async () => {
    const storage = s3ResultStorageFromUrl(url(), { ...creds, AWS_SECRET_ACCESS_KEY: 'wrong-secret' });
    const refusedBefore = server.refused;
    const error = await storage.write('x', new Uint8Array([1]), { expiresAt: null }).catch((e: unknown) => e);
    expect(server.refused).toBe(refusedBefore + 1);
    expect(server.objects.has('results/team-a/runs/x')).toBe(false);
    expect(error).toBeInstanceOf(S3Error);
    expect((error as S3Error).status).toBe(403);
    expect((error as S3Error).code).toBe('SignatureDoesNotMatch');
  });

  it('registers the s3 scheme in a flow process loaded with the worker module, so the runtime stores results there', async () => {
    expect(resultStorageExecArgv('file:///tmp/r')).toEqual([]);
    expect(resultStorageExecArgv(url())).toEqual(['--import', registerModuleUrl()]);
    const script = `
      import { resultStorageFromEnv } from '@outpost/sdk/runtime';
      const storage = resultStorageFromEnv();
      const { ref } = await storage.write('from-child', new TextEncoder().encode('child bytes'), { expiresAt: null });
      process.stdout.write(ref);
    `;
    const { stdout } = await run(process.execPath, [...resultStorageExecArgv(url()), '--input-type=module', '-e', script], {
      cwd: join(import.meta.dirname, '..'),
      env: { PATH: process.env.PATH ?? '', OUTPOST_RESULT_STORAGE: url(), ...creds },
    });
    expect(stdout).toBe('s3://results/team-a/runs/from-child');
    const read = await s3ResultStorageFromUrl(url(), creds).read('from-child');
    expect(new TextDecoder().decode(read!)).toBe('child bytes');
  });
});
