import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseOptions } from '../src/options.js';
import { isSourceAllowed } from '../src/sources/allow.js';
import { buildDemoBundle } from './support/bundle.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { startWorkerOnFakeApi } from './support/worker-on-fake-api.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;

describe('--allow-source', () => {
  it('matches a prefix only at a boundary of the source', () => {
    const allowed = ['oci://registry.internal', 'git+https://git.internal/acme/'];
    expect(isSourceAllowed(`oci://registry.internal/acme/flows@${DIGEST}`, allowed)).toBe(true);
    expect(isSourceAllowed(`oci://registry.internal:5000/acme/flows@${DIGEST}`, allowed)).toBe(true);
    expect(isSourceAllowed(`oci://registry.internal.evil.example/acme/flows@${DIGEST}`, allowed)).toBe(false);
    expect(isSourceAllowed(`git+https://git.internal/acme/flows.git#${'b'.repeat(40)}`, allowed)).toBe(true);
    expect(isSourceAllowed(`git+https://git.internal/other/flows.git#${'b'.repeat(40)}`, allowed)).toBe(false);
    expect(isSourceAllowed('dir:///tmp/anything', allowed)).toBe(false);
    expect(isSourceAllowed('dir:///tmp/anything', [])).toBe(true);
  });

  it('is read from flags and the environment, and rejects what is not a source prefix', () => {
    const env = { OUTPOST_API_URL: 'http://127.0.0.1:1', OUTPOST_API_KEY: 'op_0123456789', HOME: '/h' };
    expect(parseOptions(['--pool', 'p', '--allow-source', 'oci://r.internal/'], env).allowSources).toEqual(['oci://r.internal/']);
    expect(
      parseOptions(['--pool', 'p'], { ...env, OUTPOST_WORKER_ALLOW_SOURCES: 'oci://a/, git+ssh://b/' }).allowSources,
    ).toEqual(['oci://a/', 'git+ssh://b/']);
    expect(parseOptions(['--pool', 'p'], env).allowSources).toEqual([]);
    expect(() => parseOptions(['--pool', 'p', '--allow-source', 'registry.internal'], env)).toThrow(/--allow-source/);
  });

  it('fails a run whose source is outside the list without fetching or starting anything', async () => {
    const scratch = mkdtempSync(join(tmpdir(), 'outpost-allow-'));
    const bundle = await buildDemoBundle();
    const { api, outcomeOf, stop } = await startWorkerOnFakeApi(scratch, { args: ['--allow-source', `dir://${bundle.dir}`] });
    try {
      const refused = api.enqueue({
        source: `oci://registry.elsewhere.example/x/flows@${DIGEST}`,
        entrypoint: 'flows/demo.ts',
        flowName: 'hello',
      });
      const allowed = api.enqueue({ ...bundle, flowName: 'hello' });
      const outcome = await outcomeOf(refused, 30_000, 'the refused run');
      expect(outcome).toMatchObject({ ending: 'failed-to-start', proposed: 'FAILED', exit: null });
      expect(api.runs.get(refused)!.states.at(-1)!.message).toContain('does not run code from oci://registry.elsewhere.example/');
      expect(await outcomeOf(allowed, 30_000, 'the allowed run')).toMatchObject({
        state: 'COMPLETED',
      });
    } finally {
      await stop();
      rmSync(bundle.dir, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    }
    await expectNoLiveChildren();
  });
});
