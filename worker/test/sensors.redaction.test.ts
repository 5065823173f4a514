import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClaimedSensorTick } from '@outpost/sdk/contracts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleProcessDeps } from '../src/bundle-process.js';
import { REDACTED } from '../src/redact.js';
import { SecretResolver } from '../src/secrets.js';
import { evaluateSensorTick } from '../src/sensors/evaluate.js';
import { evaluateExternalPoll } from '../src/sensors/external-poll.js';
import { buildDemoBundle } from './support/bundle.js';
import { claimedExternalPoll } from './support/external-poll.js';
import { tearDown } from './support/leaks.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/flows/sensors-secret.ts', import.meta.url));
const TOKEN = 'api-t0ken-Hq7/Zr+w';
const PASSWORD = 'db-pa55word-Lm3x';

function expectNoSecret(value: unknown): void {
  const text = JSON.stringify(value);
  for (const secret of [TOKEN, PASSWORD]) {
    expect(text).not.toContain(secret);
    expect(text).not.toContain(Buffer.from(secret).toString('base64'));
  }
}

/*
 * Sensors and deferred-job polls run in processes of their own, loaded from the deployment's code
 * with its job variables; what they answer is reported to the control plane. Real processes here,
 * from a `dir://` bundle, with the secrets resolved from the worker's environment.
 */
describe('sensor ticks and deferred-job polls report nothing secret, in keys or values', () => {
  let bundle: { dir: string; source: string; entrypoint: string };
  let scratch: string;
  let deps: BundleProcessDeps;
  const deployment = () => ({
    id: randomUUID(),
    source: bundle.source,
    entrypoint: bundle.entrypoint,
    jobVariables: { env: { API_TOKEN: { $secret: 'API_TOKEN' }, DB_PASSWORD: { $secret: 'DB_PASSWORD' } } },
    signature: null,
  });

  beforeAll(async () => {
    bundle = await buildDemoBundle(FIXTURE, 'sensors-secret');
    scratch = mkdtempSync(join(tmpdir(), 'outpost-sensors-redaction-'));
    const workerEnv = { PATH: process.env.PATH ?? '', HOME: scratch, API_TOKEN: TOKEN, DB_PASSWORD: PASSWORD };
    // No trust keys: this worker runs unsigned code (the signature check is not what is tested here).
    const options = { allowSources: [], cacheDir: join(scratch, 'cache'), cancelGraceMs: 2_000, trustKeys: [], pool: 'default' };
    deps = {
      options,
      workerEnv,
      baseEnv: { PATH: workerEnv.PATH, HOME: scratch },
      secrets: new SecretResolver({ order: ['env'], dir: null, command: null, timeoutMs: 5_000 }, workerEnv),
      logger: pino({ level: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent' }),
    };
  });

  afterAll(() => tearDown(bundle?.dir, scratch));

  const tick = (name: string): ClaimedSensorTick => ({
    tickId: randomUUID(),
    sensor: { id: randomUUID(), name, intervalSeconds: 30, cursor: null, lastTickAt: null },
    deployment: { ...deployment(), name: 'prod', flowName: 'noop' },
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    timeoutSeconds: 30,
  });

  it("masks the keys and values of a tick's run parameters, its tags and its skip reason", async () => {
    const report = await evaluateSensorTick(tick('leaky'), deps, new AbortController().signal);
    expect(report?.outcome).toEqual({
      status: 'ok',
      result: {
        runRequests: [
          {
            runKey: 'file-1',
            parameters: { [REDACTED]: 1, value: REDACTED, nested: { [`dsn-${REDACTED}`]: [REDACTED] } },
            tags: [`by-${REDACTED}`, 'plain'],
          },
        ],
        cursor: 'after-file-1',
        skipReason: `nothing more for ${REDACTED}`,
      },
    });
    expectNoSecret(report);
  });

  it.each([
    ['cursor', 'leaky-cursor'],
    ['run key', 'leaky-run-key'],
  ])('fails the tick when its %s holds a secret, reporting neither the secret nor a masked value', async (what, name) => {
    const report = await evaluateSensorTick(tick(name), deps, new AbortController().signal);
    expect(report?.outcome.status).toBe('error');
    expect(report?.outcome).toMatchObject({ error: expect.stringContaining(`${what} holds a secret value`) });
    expectNoSecret(report);
  });

  it("masks the keys and values of a deferred job's result and its message, keeping keys that mask alike apart", async () => {
    const poll = claimedExternalPoll(deployment());
    const report = await evaluateExternalPoll(poll, deps, new AbortController().signal);
    expect(report?.outcome).toEqual({
      state: 'succeeded',
      result: { [REDACTED]: 'a', [`${REDACTED}#2`]: 'b', id: 7, echo: REDACTED },
      message: `done as ${REDACTED}`,
    });
    expectNoSecret(report);
  });
});
