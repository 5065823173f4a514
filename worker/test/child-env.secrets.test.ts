import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { buildChildEnv } from '../src/child-env.js';
import { JobConfigError, resolveJobEnv } from '../src/secrets.js';

const run = promisify(execFile);

const WORKER_ENV: NodeJS.ProcessEnv = {
  PATH: process.env.PATH,
  HOME: '/home/worker',
  LANG: 'C.UTF-8',
  LC_TIME: 'en_GB.UTF-8',
  OUTPOST_API_KEY: 'op_workerkey0000000000000000',
  OUTPOST_API_URL: 'http://127.0.0.1:1',
  OUTPOST_REGISTRY_USERNAME: 'ci',
  OUTPOST_REGISTRY_PASSWORD: 'registry-password',
  AWS_SECRET_ACCESS_KEY: 'not-for-flows',
  DB_PASSWORD: 'pg-s3cret-value',
  GPU_SLOTS: '2',
};

/** The environment a real child process sees when spawned with `env`. */
async function envSeenByChild(env: Record<string, string>): Promise<Record<string, string>> {
  const { stdout } = await run(process.execPath, ['-e', 'process.stdout.write(JSON.stringify(process.env))'], { env });
  return JSON.parse(stdout) as Record<string, string>;
}

describe('the flow process environment', () => {
  it('passes the OpenTelemetry variables on, so the flow exports where the worker does, and still not the API key', async () => {
    const workerEnv = {
      ...WORKER_ENV,
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318',
      OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=test',
    };
    const childEnv = await envSeenByChild(
      buildChildEnv({ workerEnv, passEnv: [], jobEnv: {}, run: { id: randomUUID(), attempt: 1, flowName: 'train' } }),
    );
    expect(childEnv.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://127.0.0.1:4318');
    expect(childEnv.OTEL_RESOURCE_ATTRIBUTES).toBe('deployment.environment=test');
    expect(childEnv.OUTPOST_API_KEY).toBeUndefined();
  });

  it('holds resolved secrets and the run identity but none of the worker credentials', async () => {
    const { env: jobEnv, secretValues } = await resolveJobEnv(
      { env: { DATABASE_PASSWORD: { $secret: 'DB_PASSWORD' }, MODE: 'train', EPOCHS: 3, DRY_RUN: false } },
      WORKER_ENV,
    );
    expect(secretValues).toEqual(['pg-s3cret-value']);
    const runId = randomUUID();
    const childEnv = await envSeenByChild(
      buildChildEnv({ workerEnv: WORKER_ENV, passEnv: ['GPU_SLOTS'], jobEnv, run: { id: runId, attempt: 2, flowName: 'train' } }),
    );
    expect(childEnv.DATABASE_PASSWORD).toBe('pg-s3cret-value');
    expect(childEnv.MODE).toBe('train');
    expect(childEnv.EPOCHS).toBe('3');
    expect(childEnv.DRY_RUN).toBe('false');
    expect(childEnv.OUTPOST_RUN_ID).toBe(runId);
    expect(childEnv.OUTPOST_RUN_ATTEMPT).toBe('2');
    expect(childEnv.OUTPOST_FLOW_NAME).toBe('train');
    expect(childEnv.HOME).toBe('/home/worker');
    expect(childEnv.LC_TIME).toBe('en_GB.UTF-8');
    expect(childEnv.GPU_SLOTS).toBe('2');
    for (const absent of [
      'OUTPOST_API_KEY',
      'OUTPOST_API_URL',
      'OUTPOST_REGISTRY_USERNAME',
      'OUTPOST_REGISTRY_PASSWORD',
      'AWS_SECRET_ACCESS_KEY',
      'DB_PASSWORD',
    ]) {
      expect(childEnv[absent], absent).toBeUndefined();
    }
    expect(JSON.stringify(childEnv)).not.toContain('op_workerkey');
    expect(JSON.stringify(childEnv)).not.toContain('registry-password');
  });

  it('refuses a secret reference to the worker configuration, so a deployment cannot take the worker key', async () => {
    await expect(resolveJobEnv({ env: { KEY: { $secret: 'OUTPOST_API_KEY' } } }, WORKER_ENV)).rejects.toThrow(/reserved/);
    await expect(resolveJobEnv({ env: { OUTPOST_API_KEY: 'mine' } }, WORKER_ENV)).rejects.toThrow(JobConfigError);
  });

  it('names a secret missing from the worker environment without revealing any value', async () => {
    await expect(resolveJobEnv({ env: { TOKEN: { $secret: 'HF_TOKEN' } } }, WORKER_ENV)).rejects.toThrow(
      'secret "HF_TOKEN" is not set in the worker\'s environment',
    );
  });

  it('rejects job env values it cannot turn into a variable', async () => {
    await expect(resolveJobEnv({ env: { LIST: [1, 2] } }, WORKER_ENV)).rejects.toThrow(/must be a string/);
    await expect(resolveJobEnv({ env: { 'BAD-NAME': 'x' } }, WORKER_ENV)).rejects.toThrow(/not a valid variable name/);
    await expect(resolveJobEnv({ env: 'A=1' }, WORKER_ENV)).rejects.toThrow(/must be an object/);
    expect(await resolveJobEnv({}, WORKER_ENV)).toEqual({ env: {}, secretValues: [], waitHoldSeconds: null });
  });
});
