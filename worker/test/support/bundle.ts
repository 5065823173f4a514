import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildBundle, pushBundle } from '@outpost/sdk/bundle';
import { type OutpostClient, unwrap } from '@outpost/sdk/client';
import { build, stop } from 'esbuild';
import { startRegistry, type TestRegistry } from '../../../sdk/test/support/registry.js';
import { waitFor } from './wait.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/flows/demo.ts', import.meta.url));
const FIXTURES = fileURLToPath(new URL('../fixtures', import.meta.url));

/**
 * Builds the demo flows into a bundle directory the way `outpost deploy` lays one out
 * (`flows/demo.ts` → `flows/demo.mjs`, the SDK bundled in), and returns the `dir:///` source.
 */
export async function buildDemoBundle(
  fixture = FIXTURE,
  name = 'demo',
): Promise<{ dir: string; source: string; entrypoint: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'outpost-bundle-'));
  await build({
    entryPoints: [fixture],
    outfile: join(dir, 'flows', `${name}.mjs`),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'silent',
    // As `outpost deploy` builds: a source map beside each file, which the worker maps stack traces with.
    sourcemap: 'linked',
    // Bundled CommonJS dependencies may call require(); give the ESM output one.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  // esbuild keeps a service process running between builds; it must not outlive the test.
  await stop();
  return { dir, source: `dir://${dir}`, entrypoint: `flows/${name}.ts` };
}

/**
 * A test registry that only `user` may use, holding the fixture project's `entrypoints` (and
 * project `files`) built as `outpost deploy` builds them and pushed as `acme/flows`: answers the
 * registry, for the suite to stop, and the pushed bundle's `oci://` source.
 */
export async function registryWithFixtureBundle(
  user: { username: string; password: string },
  project: { entrypoints: string[]; files?: string[] },
): Promise<{ registry: TestRegistry; source: string }> {
  const registry = await startRegistry({ htpasswd: user });
  const built = await buildBundle({ projectDir: FIXTURES, ...project });
  // esbuild keeps a service process running between builds; it must not outlive the test.
  await stop();
  const { source } = await pushBundle(built, `oci://${registry.host}/acme/flows`, { credentials: user });
  return { registry, source };
}

/**
 * Deploys each of `flowNames` from the demo bundle to the `default` pool as deployment `name`, with
 * the `DB_PASSWORD` secret reference the demo flows read, and returns each flow's deployment id.
 */
export async function deployDemoFlows<N extends string>(
  owner: OutpostClient,
  bundle: { source: string; entrypoint: string },
  flowNames: readonly N[],
  name: string,
  /** More fields of each deployment (its schedules, say). */
  extra: Record<string, unknown> = {},
): Promise<Map<N, string>> {
  const deployments = new Map<N, string>();
  for (const flowName of flowNames) {
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName,
          name,
          source: bundle.source,
          entrypoint: bundle.entrypoint,
          workPool: 'default',
          jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' } } },
          ...extra,
        },
      }),
    );
    deployments.set(flowName, deployment.id);
  }
  return deployments;
}

/**
 * The pid of the process the demo `sleepy` flow starts and logs as `grandchild <pid>`, once that
 * line has reached the API: what a test checks is gone after the run is stopped.
 */
export async function reportedGrandchild(owner: OutpostClient, runId: string): Promise<number> {
  const line = await waitFor(
    async () =>
      unwrap(await owner.call('logsRead', { params: { id: runId }, query: { limit: 5000 } })).items.find((l) =>
        l.message.startsWith('grandchild '),
      ),
    60_000,
    'the flow to report its grandchild',
  );
  return Number(line.message.split(' ')[1]);
}
