import { mkdtempSync, readFileSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestRegistry } from '../../sdk/test/support/registry.js';
import { registryWithFixtureBundle } from './support/bundle.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { startWorkerOnFakeApi } from './support/worker-on-fake-api.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));
const USER = { username: 'deployer', password: 'registry-pw-5e0c' };

interface Report {
  bundleDir: string | null;
  cwd: string;
  python: string;
  direct: string;
}

/*
 * A deployment ships scripts beside its flow (`files` in outpost.config.ts); pulled from a real
 * registry, they are in the run's bundle directory, which is the flow's working directory and
 * OUTPOST_BUNDLE_DIR, whether the flow process was started ahead of the run or for it.
 */
describe('project files shipped in the bundle', () => {
  let scratch: string;
  let registry: TestRegistry;
  let source: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-bundle-files-'));
    ({ registry, source } = await registryWithFixtureBundle(USER, {
      entrypoints: ['flows/bundle-files.ts', 'flows/pipes-secret.ts'],
      files: ['scripts/*'],
    }));
  });

  afterAll(async () => {
    await registry?.stop();
    rmSync(scratch, { recursive: true, force: true });
    await expectNoLiveChildren();
  });

  /** A worker on a fake API, pulling from the test registry, with `env` added to its environment. */
  async function startFilesWorker(name: string, prestart: string, env: Record<string, string> = {}) {
    const cacheDir = join(scratch, `cache-${name}`);
    const { api, outcomeOf, stop } = await startWorkerOnFakeApi(scratch, {
      args: ['--prestart', prestart],
      vars: { OUTPOST_WORKER_CACHE_DIR: cacheDir, OUTPOST_WORKER_SPOOL_DIR: join(scratch, `spool-${name}`) },
      env: {
        HOME: join(scratch, `home-${name}`),
        OUTPOST_REGISTRY_USERNAME: USER.username,
        OUTPOST_REGISTRY_PASSWORD: USER.password,
        ...env,
      },
    });
    const finished = (id: string) => outcomeOf(id, 60_000, `run ${id}`);
    return { api, cacheDir, finished, stop };
  }

  it.each([
    ['a flow process started ahead of the run', '2'],
    ['a flow process started for the run', '0'],
  ])('runs scripts shipped with the flow by relative path in %s', async (_what, prestart) => {
    const { api, cacheDir, finished, stop } = await startFilesWorker(prestart, prestart);
    try {
      const id = api.enqueue({ source, entrypoint: 'flows/bundle-files.ts', flowName: 'bundled-scripts' });
      const outcome = await finished(id);
      const lines = [...api.runs.get(id)!.logs.values()].map((l) => l.message);
      expect(outcome, lines.join('\n')).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
      const report = JSON.parse(lines.find((line) => line.startsWith('{"bundleDir"'))!) as Report;

      const bundleDir = report.bundleDir!;
      expect(realpathSync(bundleDir).startsWith(realpathSync(cacheDir))).toBe(true);
      expect(report.cwd).toBe(bundleDir);
      expect(report.python).toBe(`${join(bundleDir, 'scripts')} SELECT 42 AS answer;`);
      expect(report.direct).toBe(`shell script in ${bundleDir}`);
      expect(readFileSync(join(bundleDir, 'scripts/report.py'), 'utf8')).toBe(
        readFileSync(join(FIXTURES, 'scripts/report.py'), 'utf8'),
      );
    } finally {
      await stop();
    }
  });

  it('masks a secret in everything a Python step launched with Pipes sends, with the client taken from the bundle', async () => {
    const token = 'hf_pipes_secret_7Qk2vR9xL4';
    const { api, cacheDir, finished, stop } = await startFilesWorker('pipes', '0', { HF_TOKEN: token });
    try {
      const id = api.enqueue({
        source,
        entrypoint: 'flows/pipes-secret.ts',
        flowName: 'pipes-secret',
        jobVariables: { env: { HF_TOKEN: { $secret: 'HF_TOKEN' } } },
      });
      const outcome = await finished(id);
      const lines = [...api.runs.get(id)!.logs.values()].map((l) => l.message);
      expect(outcome, lines.join('\n')).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
      const clientDir = lines.find((line) => line.startsWith('client from '))?.slice('client from '.length) ?? '';
      expect(realpathSync(clientDir).startsWith(realpathSync(cacheDir))).toBe(true);
      expect(clientDir.endsWith(join('.outpost', 'python'))).toBe(true);
      expect(lines).toEqual(
        expect.arrayContaining(['logging in with ***', 'printed ***', 'as base64 ***', 'the script reported {"token":"***"}']),
      );
      const shipped = JSON.stringify([...api.runs.get(id)!.logs.values()]);
      expect(shipped).not.toContain(token);
      expect(shipped).not.toContain(Buffer.from(token).toString('base64'));
    } finally {
      await stop();
    }
  });
});
