import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClaimedExternalPoll, ClaimedSensorTick } from '@outpost/sdk/contracts';
import {
  deploymentStatement,
  generateDeployKeyPair,
  parseSigningKey,
  parseTrustKey,
  signDeploymentStatement,
} from '@outpost/sdk/signing';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BundleProcessDeps } from '../src/bundle-process.js';
import { SecretResolver } from '../src/secrets.js';
import { evaluateSensorTick } from '../src/sensors/evaluate.js';
import { evaluateExternalPoll } from '../src/sensors/external-poll.js';
import { checkClaimedCode } from '../src/trust.js';
import { buildDemoBundle } from './support/bundle.js';
import { claimedExternalPoll } from './support/external-poll.js';
import { tearDown } from './support/leaks.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/flows/sensors-secret.ts', import.meta.url));
const PAIR = generateDeployKeyPair();
const SIGNING = parseSigningKey(PAIR.privateKeyPem);
const TRUST = parseTrustKey(PAIR.publicKeyPem);

/*
 * A worker with trust keys checks the signature of every claim before any of its code runs: sensor
 * ticks and deferred-job polls (real processes from a `dir://` bundle here) as much as runs.
 */
describe('trust: sensor ticks and deferred-job polls run only signed code', () => {
  let bundle: { dir: string; source: string; entrypoint: string };
  let scratch: string;
  let deps: BundleProcessDeps;
  const jobVariables = { env: { API_TOKEN: { $secret: 'API_TOKEN' }, DB_PASSWORD: { $secret: 'DB_PASSWORD' } } };

  async function signature(fields: { entrypoint?: string } = {}) {
    return signDeploymentStatement(
      deploymentStatement({
        flowName: 'noop',
        deployment: 'prod',
        workPool: 'sensors',
        source: bundle.source,
        entrypoint: fields.entrypoint ?? bundle.entrypoint,
        jobVariables,
      }),
      SIGNING,
    );
  }

  const tick = (signature: string | null, change: Partial<ClaimedSensorTick['deployment']> = {}): ClaimedSensorTick => ({
    tickId: randomUUID(),
    sensor: { id: randomUUID(), name: 'leaky', intervalSeconds: 30, cursor: null, lastTickAt: null },
    deployment: {
      id: randomUUID(),
      name: 'prod',
      flowName: 'noop',
      source: bundle.source,
      entrypoint: bundle.entrypoint,
      jobVariables,
      signature,
      ...change,
    },
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    timeoutSeconds: 30,
  });

  beforeAll(async () => {
    bundle = await buildDemoBundle(FIXTURE, 'sensors-secret');
    scratch = mkdtempSync(join(tmpdir(), 'outpost-trust-'));
    const workerEnv = { PATH: process.env.PATH ?? '', HOME: scratch, API_TOKEN: 'token-1234', DB_PASSWORD: 'pw-123456' };
    deps = {
      options: { allowSources: [], cacheDir: join(scratch, 'cache'), cancelGraceMs: 2_000, trustKeys: [TRUST], pool: 'sensors' },
      workerEnv,
      baseEnv: { PATH: workerEnv.PATH, HOME: scratch },
      secrets: new SecretResolver({ order: ['env'], dir: null, command: null, timeoutMs: 5_000 }, workerEnv),
      logger: pino({ level: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent' }),
    };
  });

  afterAll(() => tearDown(bundle?.dir, scratch));

  it('evaluates a tick whose deployment the trusted key signed', async () => {
    const report = await evaluateSensorTick(tick(await signature()), deps, new AbortController().signal);
    expect(report?.outcome.status).toBe('ok');
  });

  it('refuses an unsigned tick before its process starts, saying so', async () => {
    const report = await evaluateSensorTick(tick(null), deps, new AbortController().signal);
    expect(report?.outcome).toEqual({
      status: 'error',
      error: expect.stringContaining('refused to run the sensor: the deployment version is not signed'),
    });
    // Nothing ran, so nothing printed.
    expect(report?.logs).toEqual([]);
  });

  it('refuses a tick whose job variables differ from the signed ones, naming the variable', async () => {
    const extra = { env: { ...jobVariables.env, EXFIL: { $secret: 'API_TOKEN' } } };
    const report = await evaluateSensorTick(tick(await signature(), { jobVariables: extra }), deps, new AbortController().signal);
    expect(report?.outcome).toMatchObject({ status: 'error', error: expect.stringContaining('job variables (env.EXFIL)') });
  });

  it('refuses a deferred-job poll whose claim does not name its deployment, or names another entrypoint', async () => {
    const poll = (deployment: Partial<ClaimedExternalPoll['deployment']>): ClaimedExternalPoll =>
      claimedExternalPoll({
        id: randomUUID(),
        source: bundle.source,
        entrypoint: bundle.entrypoint,
        jobVariables,
        signature: null,
        ...deployment,
      });
    const signed = await signature();
    const anonymous = await evaluateExternalPoll(poll({ signature: signed }), deps, new AbortController().signal);
    expect(JSON.stringify(anonymous?.outcome)).toContain('did not say which deployment this is');
    const moved = await evaluateExternalPoll(
      poll({ signature: signed, flowName: 'noop', name: 'prod', entrypoint: 'other.js' }),
      deps,
      new AbortController().signal,
    );
    expect(JSON.stringify(moved?.outcome)).toContain('another entrypoint than');
  });
});

describe('trust: checking a claim', () => {
  const code = {
    flowName: 'f',
    name: 'd',
    source: 'dir:///srv/flows',
    entrypoint: 'flows/f.js',
    jobVariables: {},
  };

  it('trusts every claim on a worker with no trust keys', async () => {
    expect(await checkClaimedCode({ ...code, signature: null }, { keys: [], pool: 'p' })).toEqual({
      kind: 'trusted',
      statement: null,
      kid: null,
    });
  });

  it("checks a run's parameters against the signed schema, not the control plane's", async () => {
    const parameterSchema = { type: 'object', properties: { n: { type: 'integer', maximum: 5 } }, required: ['n'] };
    const signature = await signDeploymentStatement(
      deploymentStatement({ ...code, deployment: 'd', workPool: 'p', parameterSchema }),
      SIGNING,
    );
    const trust = { keys: [TRUST], pool: 'p' };
    expect((await checkClaimedCode({ ...code, signature }, trust, { n: 3 })).kind).toBe('trusted');
    expect(await checkClaimedCode({ ...code, signature }, trust, { n: 50 })).toEqual({
      kind: 'refused',
      reason: "the run's parameters do not satisfy the signed parameter schema: /n must be <= 5",
    });
    expect(await checkClaimedCode({ ...code, signature }, { ...trust, pool: 'other' }, { n: 3 })).toMatchObject({
      reason: expect.stringContaining('another work pool than'),
    });
  });
});
