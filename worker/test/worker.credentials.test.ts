import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestRegistry } from '../../sdk/test/support/registry.js';
import type { RunOutcome } from '../src/executors/final-state.js';
import { registryWithFixtureBundle } from './support/bundle.js';
import type { FakeApi } from './support/fake-api.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { startWorkerOnFakeApi } from './support/worker-on-fake-api.js';

const USER = { username: 'puller', password: 'registry-pw-93b1' };

/*
 * The control plane decides what runs, never with which credentials: everything a claim carries
 * (source, job variables) is tried here as a way to hand the worker registry credentials, and
 * none may work. Only the worker's own environment can.
 */
describe('registry credentials come only from the worker', () => {
  let scratch: string;
  let registry: TestRegistry;
  let source: string;
  let api: FakeApi;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-creds-'));
    ({ registry, source } = await registryWithFixtureBundle(USER, { entrypoints: ['flows/demo.ts'] }));
  });

  afterAll(async () => {
    await registry?.stop();
    rmSync(scratch, { recursive: true, force: true });
    await expectNoLiveChildren();
  });

  async function withWorker<T>(
    env: Record<string, string>,
    name: string,
    fn: (outcomeOf: (runId: string) => Promise<RunOutcome>) => Promise<T>,
  ): Promise<T> {
    // A control plane per worker: a stopped worker's abandoned long-poll must not take the next test's run.
    const started = await startWorkerOnFakeApi(scratch, {
      args: ['--prestart', '0'],
      vars: { OUTPOST_WORKER_CACHE_DIR: join(scratch, `cache-${name}`) },
      env: { HOME: join(scratch, `home-${name}`), ...env },
    });
    api = started.api;
    try {
      return await fn((runId) => started.outcomeOf(runId));
    } finally {
      await started.stop();
    }
  }

  it('ignores credentials a claim tries to supply and pulls anonymously, so the registry refuses', async () => {
    // A Docker config holding valid credentials, which a deployment points the flow environment at.
    const dockerDir = join(scratch, 'planted-docker');
    mkdirSync(dockerDir, { recursive: true });
    const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
    writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    await withWorker({}, 'bare', async (outcomeOf) => {
      const viaJobEnv = api.enqueue({
        source,
        entrypoint: 'flows/demo.ts',
        flowName: 'hello',
        jobVariables: {
          env: { DOCKER_CONFIG: dockerDir, HOME: scratch },
          registryCredentials: USER,
          auth: { [registry.host]: auth },
        },
      });
      const reserved = api.enqueue({
        source,
        entrypoint: 'flows/demo.ts',
        flowName: 'hello',
        jobVariables: { env: { OUTPOST_REGISTRY_USERNAME: USER.username, OUTPOST_REGISTRY_PASSWORD: USER.password } },
      });
      const inUrl = api.enqueue({
        source: source.replace('oci://', `oci://${USER.username}:${USER.password}@`),
        entrypoint: 'flows/demo.ts',
        flowName: 'hello',
      });
      for (const id of [viaJobEnv, reserved, inUrl]) {
        const outcome = await outcomeOf(id);
        expect(outcome).toMatchObject({ ending: 'failed-to-start', proposed: 'FAILED', exit: null });
      }
      expect(api.runs.get(viaJobEnv)!.states.at(-1)!.message).toMatch(
        /could not fetch the flow bundle: .*(401|unauthori|credentials)/i,
      );
      expect(api.runs.get(reserved)!.states.at(-1)!.message).toContain('reserved');
      expect(api.runs.get(inUrl)!.states.at(-1)!.message).toContain('invalid bundle source');
      for (const id of [viaJobEnv, reserved, inUrl])
        expect(JSON.stringify(api.runs.get(id)!.states)).not.toContain(USER.password);
    });
  });

  it('pulls with the credentials of its own Docker config', async () => {
    const dockerDir = join(scratch, 'worker-docker');
    mkdirSync(dockerDir, { recursive: true });
    const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
    writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [`https://${registry.host}/v1/`]: { auth } } }));
    await withWorker({ DOCKER_CONFIG: dockerDir }, 'docker-config', async (outcomeOf) => {
      const id = api.enqueue({ source, entrypoint: 'flows/demo.ts', flowName: 'hello' });
      const outcome = await outcomeOf(id);
      expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    });
  });

  it('pulls with the credentials of its own environment', async () => {
    await withWorker(
      { OUTPOST_REGISTRY_USERNAME: USER.username, OUTPOST_REGISTRY_PASSWORD: USER.password },
      'configured',
      async (outcomeOf) => {
        const id = api.enqueue({ source, entrypoint: 'flows/demo.ts', flowName: 'hello' });
        const outcome = await outcomeOf(id);
        expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
      },
    );
  });
});
