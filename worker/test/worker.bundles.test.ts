import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { stop as stopEsbuild } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunOutcome } from '../src/executors/final-state.js';
import type { WorkerHandle } from '../src/worker.js';
import { FAKE_WORKER_KEY, FakeApi } from './support/fake-api.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

const FIXTURES = fileURLToPath(new URL('./fixtures', import.meta.url));

/** Pushes the demo flows into a fresh OCI image-layout directory, as `outpost deploy` would; returns the pinned source. */
async function pushToLayout(scratch: string, name: string): Promise<{ layout: string; source: string }> {
  const built = await buildBundle({ projectDir: FIXTURES, entrypoints: ['flows/demo.ts'] });
  // Builds are reproducible; one extra file gives each push its own digest, so no pull is served from the cache.
  built.files.push({ path: 'variant.txt', bytes: new TextEncoder().encode(name) });
  const layout = join(scratch, name);
  const { source } = await pushBundle(built, `oci-layout://${layout}`);
  return { layout, source };
}

describe('bundles pulled by digest', () => {
  let scratch: string;
  let api: FakeApi;
  let worker: WorkerHandle;
  const outcomes: RunOutcome[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-bundles-'));
    api = new FakeApi();
    await api.start();
    worker = await startTestWorker({
      apiUrl: api.url,
      apiKey: FAKE_WORKER_KEY,
      scratch,
      args: ['--heartbeat-interval', '300ms', '--poll-wait', '200ms'],
      hooks: { onRunFinished: (o) => outcomes.push(o) },
    });
  });

  afterAll(async () => {
    await worker?.stop({ graceMs: 0 });
    await api?.close();
    rmSync(scratch, { recursive: true, force: true });
    // buildBundle leaves esbuild's service process running for later builds.
    await stopEsbuild();
    await expectNoLiveChildren();
  });

  const outcomeOf = (runId: string) => waitFor(() => outcomes.find((o) => o.runId === runId), 60_000, `run ${runId}`);

  it('runs the flow module recorded for the entrypoint in a digest-pinned OCI layout', async () => {
    const { source } = await pushToLayout(scratch, 'good');
    expect(source).toMatch(/^oci-layout:\/\/\/.+@sha256:[a-f0-9]{64}$/);
    const id = api.enqueue({ source, entrypoint: 'flows/demo.ts', flowName: 'hello' });
    expect(await outcomeOf(id)).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    const text = [...api.runs.get(id)!.logs.values()].map((l) => l.message).join('\n');
    expect(text).toContain('sum of squares: 14');
  });

  it('refuses to run a bundle whose content does not match its digest and fails the run saying so', async () => {
    const { layout, source } = await pushToLayout(scratch, 'tampered');
    // The largest blob is the compiled flow module: change its bytes behind the registry's back.
    const blobs = join(layout, 'blobs', 'sha256');
    const largest = readdirSync(blobs)
      .map((name) => ({ name, size: statSync(join(blobs, name)).size }))
      .sort((a, b) => b.size - a.size)[0]!;
    const path = join(blobs, largest.name);
    writeFileSync(path, `${readFileSync(path, 'utf8')}\nconsole.log('injected');\n`);
    const id = api.enqueue({ source, entrypoint: 'flows/demo.ts', flowName: 'hello' });
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'failed-to-start', proposed: 'FAILED', exit: null });
    const last = api.runs.get(id)!.states.at(-1)!;
    expect(last.type).toBe('FAILED');
    expect(last.message).toContain('integrity check failed');
    expect(api.runs.get(id)!.states.map((s) => s.type)).not.toContain('RUNNING');
  });

  it('fails the run with a clear message when the bundle does not exist', async () => {
    const id = api.enqueue({ source: `dir://${join(scratch, 'missing')}`, entrypoint: 'flows/demo.ts', flowName: 'hello' });
    expect(await outcomeOf(id)).toMatchObject({ ending: 'failed-to-start', proposed: 'FAILED' });
    expect(api.runs.get(id)!.states.at(-1)!.message).toContain('could not fetch the flow bundle');
  });
});
