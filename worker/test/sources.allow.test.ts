import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RunOutcome } from '../src/executors/final-state.js';
import { parseOptions } from '../src/options.js';
import { isSourceAllowed } from '../src/sources/allow.js';
import { buildDemoBundle } from './support/bundle.js';
import { FAKE_WORKER_KEY, FakeApi } from './support/fake-api.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

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
    const api = new FakeApi();
    await api.start();
    const outcomes: RunOutcome[] = [];
    const worker = await startTestWorker({
      apiUrl: api.url,
      apiKey: FAKE_WORKER_KEY,
      scratch,
      args: ['--heartbeat-interval', '300ms', '--poll-wait', '200ms', '--allow-source', `dir://${bundle.dir}`],
      hooks: { onRunFinished: (o) => outcomes.push(o) },
    });
    try {
      const refused = api.enqueue({
        source: `oci://registry.elsewhere.example/x/flows@${DIGEST}`,
        entrypoint: 'flows/demo.ts',
        flowName: 'hello',
      });
      const allowed = api.enqueue({ ...bundle, flowName: 'hello' });
      const outcome = await waitFor(() => outcomes.find((o) => o.runId === refused), 30_000, 'the refused run');
      expect(outcome).toMatchObject({ ending: 'failed-to-start', proposed: 'FAILED', exit: null });
      expect(api.runs.get(refused)!.states.at(-1)!.message).toContain('does not run code from oci://registry.elsewhere.example/');
      expect(await waitFor(() => outcomes.find((o) => o.runId === allowed), 30_000, 'the allowed run')).toMatchObject({
        state: 'COMPLETED',
      });
    } finally {
      await worker.stop({ graceMs: 0 });
      await api.close();
      rmSync(bundle.dir, { recursive: true, force: true });
      rmSync(scratch, { recursive: true, force: true });
    }
    await expectNoLiveChildren();
  });
});
