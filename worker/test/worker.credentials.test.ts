import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { stop as stopEsbuild } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../sdk/test/support/registry.js';
import type { RunOutcome } from '../src/executors/final-state.js';
import { FAKE_WORKER_KEY, FakeApi } from './support/fake-api.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
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
    registry = await startRegistry({ htpasswd: USER });
    const built = await buildBundle({ projectDir: FIXTURES, entrypoints: ['flows/demo.ts'] });
    await stopEsbuild();
    source = (await pushBundle(built, `oci://${registry.host}/acme/flows`, { credentials: USER })).source;
  });

  afterAll(async () => {
    await registry?.stop();
    rmSync(scratch, { recursive: true, force: true });
    await expectNoLiveChildren();
  });

  async function withWorker<T>(
    env: Record<string, string>,
    name: string,
    fn: (outcomes: RunOutcome[]) => Promise<T>,
  ): Promise<T> {
    const outcomes: RunOutcome[] = [];
    // A control plane per worker: a stopped worker's abandoned long-poll must not take the next test's run.
    api = new FakeApi();
    await api.start();
    const worker = await startTestWorker({
      apiUrl: api.url,
      apiKey: FAKE_WORKER_KEY,
      scratch,
      args: ['--heartbeat-interval', '300ms', '--poll-wait', '200ms', '--prestart', '0'],
      vars: { OUTPOST_WORKER_CACHE_DIR: join(scratch, `cache-${name}`) },
      env: { HOME: join(scratch, `home-${name}`), ...env },
      hooks: { onRunFinished: (o) => outcomes.push(o) },
    });
    try {
      return await fn(outcomes);
    } finally {
      await worker.stop({ graceMs: 0 });
      await api.close();
    }
  }

  it('ignores credentials a claim tries to supply and pulls anonymously, so the registry refuses', async () => {
    // A Docker config holding valid credentials, which a deployment points the flow environment at.
    const dockerDir = join(scratch, 'planted-docker');
    mkdirSync(dockerDir, { recursive: true });
    const auth = Buffer.from(`${USER.username}:${USER.password}`).toString('base64');
    writeFileSync(join(dockerDir, 'config.json'), JSON.stringify({ auths: { [registry.host]: { auth } } }));
    await withWorker({}, 'bare', async (outcomes) => {
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
        const outcome = await waitFor(() => outcomes.find((o) => o.runId === id), 60_000, `run ${id}`);
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
    await withWorker({ DOCKER_CONFIG: dockerDir }, 'docker-config', async (outcomes) => {
      const id = api.enqueue({ source, entrypoint: 'flows/demo.ts', flowName: 'hello' });
      const outcome = await waitFor(() => outcomes.find((o) => o.runId === id), 60_000, `run ${id}`);
      expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    });
  });

  it('pulls with the credentials of its own environment', async () => {
    await withWorker(
      { OUTPOST_REGISTRY_USERNAME: USER.username, OUTPOST_REGISTRY_PASSWORD: USER.password },
      'configured',
      async (outcomes) => {
        const id = api.enqueue({ source, entrypoint: 'flows/demo.ts', flowName: 'hello' });
        const outcome = await waitFor(() => outcomes.find((o) => o.runId === id), 60_000, `run ${id}`);
        expect(outcome).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
      },
    );
  });
});
