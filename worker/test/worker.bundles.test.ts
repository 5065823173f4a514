import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { stop as stopEsbuild } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { useWorkerOnFakeApi } from './support/worker-on-fake-api.js';

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
  // buildBundle leaves esbuild's service process running for later builds.
  const suite = useWorkerOnFakeApi('bundles', () => ({ cleanup: [{ close: stopEsbuild }] }));
  const { outcomeOf } = suite;

  it('runs the flow module recorded for the entrypoint in a digest-pinned OCI layout', async () => {
    const { source } = await pushToLayout(suite.scratch, 'good');
    expect(source).toMatch(/^oci-layout:\/\/\/.+@sha256:[a-f0-9]{64}$/);
    const id = suite.api.enqueue({ source, entrypoint: 'flows/demo.ts', flowName: 'hello' });
    expect(await outcomeOf(id)).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    const text = [...suite.api.runs.get(id)!.logs.values()].map((l) => l.message).join('\n');
    expect(text).toContain('sum of squares: 14');
  });

  it('refuses to run a bundle whose content does not match its digest and fails the run saying so', async () => {
    const { layout, source } = await pushToLayout(suite.scratch, 'tampered');
    // The largest blob is the compiled flow module: change its bytes behind the registry's back.
    const blobs = join(layout, 'blobs', 'sha256');
    const largest = readdirSync(blobs)
      .map((name) => ({ name, size: statSync(join(blobs, name)).size }))
      .sort((a, b) => b.size - a.size)[0]!;
    const path = join(blobs, largest.name);
    writeFileSync(path, `${readFileSync(path, 'utf8')}\nconsole.log('injected');\n`);
    const id = suite.api.enqueue({ source, entrypoint: 'flows/demo.ts', flowName: 'hello' });
    const outcome = await outcomeOf(id);
    expect(outcome).toMatchObject({ ending: 'failed-to-start', proposed: 'FAILED', exit: null });
    const last = suite.api.runs.get(id)!.states.at(-1)!;
    expect(last.type).toBe('FAILED');
    expect(last.message).toContain('integrity check failed');
    expect(suite.api.runs.get(id)!.states.map((s) => s.type)).not.toContain('RUNNING');
  });

  it('fails the run with a clear message when the bundle does not exist', async () => {
    const id = suite.api.enqueue({
      source: `dir://${join(suite.scratch, 'missing')}`,
      entrypoint: 'flows/demo.ts',
      flowName: 'hello',
    });
    expect(await outcomeOf(id)).toMatchObject({ ending: 'failed-to-start', proposed: 'FAILED' });
    expect(suite.api.runs.get(id)!.states.at(-1)!.message).toContain('could not fetch the flow bundle');
  });
});
