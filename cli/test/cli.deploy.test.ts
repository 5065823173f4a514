import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, HELLO_EXAMPLE, outpost, startWhoamiServer, writeProject } from './cli.support.js';

/** A throwaway project that resolves @outpost/sdk through the repository's node_modules. */
async function makeProject(files: Record<string, string>): Promise<string> {
  return writeProject(await mkdtemp(join(tmpdir(), 'outpost-cli-project-')), files);
}

const FLOW = (name: string, extra = '') => `import { flow, z } from '@outpost/sdk';
${extra}
export const f = flow({ name: '${name}', params: z.object({ who: z.string().default('world') }) }, async ({ who }) => \`hi \${who}\`);
`;

const CONFIG = (registry: string, flowName = 'greet') => `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'greet',
  registry: '${registry}',
  deployments: [{ flow: '${flowName}', name: 'default', entrypoint: 'flows/greet.ts' }],
});
`;

describe('outpost deploy', () => {
  const dirs: string[] = [];
  let scratch: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'outpost-cli-deploy-'));
    dirs.push(scratch);
  });
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('--dry-run on the example prints the flow and its parameter schema, pushes nothing and needs no API', async () => {
    const registry = join(scratch, 'never-created');
    const r = await outpost(['deploy', '--dry-run'], {
      cwd: HELLO_EXAMPLE,
      env: { OUTPOST_REGISTRY: `oci-layout://${registry}`, OUTPOST_API_URL: `http://127.0.0.1:${await closedPort()}` },
    });
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('would register hello/default: flow hello in flows/hello.mjs, pool default/default');
    expect(r.stdout).toContain('"minimum": 1');
    expect(r.stdout).toContain('"default": 3');
    expect(existsSync(registry)).toBe(false);
  });

  it('--dry-run --json describes the bundle files and each deployment', async () => {
    const r = await outpost(['deploy', '--dry-run', '--json', '--config', join(HELLO_EXAMPLE, 'outpost.config.ts')], {
      cwd: scratch,
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout) as {
      dryRun: boolean;
      source: string | null;
      files: { path: string; size: number }[];
      deployments: {
        flow: string;
        name: string;
        entrypoint: string;
        workPool: string;
        parameterSchema: { properties: Record<string, unknown> };
      }[];
    };
    expect(out.dryRun).toBe(true);
    expect(out.source).toBeNull();
    expect(out.files.map((f) => f.path)).toContain('flows/hello.mjs');
    expect(out.deployments).toHaveLength(1);
    expect(out.deployments[0]).toMatchObject({
      flow: 'hello',
      name: 'default',
      entrypoint: 'flows/hello.mjs',
      workPool: 'default',
    });
    expect(out.deployments[0]!.parameterSchema.properties.n).toMatchObject({ type: 'integer', minimum: 1, default: 3 });
  });

  it('imports flow modules in a separate process, never in the CLI itself', async () => {
    const marker = join(scratch, 'imported-by-pid');
    const dir = await makeProject({
      'outpost.config.ts': CONFIG('oci-layout:./registry'),
      'flows/greet.ts': FLOW(
        'greet',
        "import { writeFileSync } from 'node:fs';\nwriteFileSync(process.env.PID_MARKER!, String(process.pid));",
      ),
    });
    dirs.push(dir);
    const r = await outpost(['deploy', '--dry-run'], { cwd: dir, env: { PID_MARKER: marker } });
    expect(r.code).toBe(0);
    const pid = Number(await readFile(marker, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(pid).not.toBe(r.pid);
  });

  it('exits 2 naming the flows it found when a deployment names a flow its entrypoint does not define', async () => {
    const dir = await makeProject({
      'outpost.config.ts': CONFIG('oci-layout:./registry', 'greeet'),
      'flows/greet.ts': FLOW('greet'),
    });
    dirs.push(dir);
    const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('flows/greet.ts defines no flow named "greeet"');
    expect(r.stderr).toContain('flows defined there: greet');
  });

  it('exits 2 with field paths when the config is invalid', async () => {
    const dir = await makeProject({
      'outpost.config.ts': `export default { project: 'greet', deployments: [{ flow: 'greet', name: 'bad name', entrypoint: 'flows/greet.ts' }] };\n`,
      'flows/greet.ts': FLOW('greet'),
    });
    dirs.push(dir);
    const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is not a valid Outpost config');
    expect(r.stderr).toContain('registry:');
    expect(r.stderr).toContain('deployments.0.name:');
  });

  it('exits 2 listing the declared deployments when --deployment names none of them', async () => {
    const r = await outpost(['deploy', '--dry-run', '--deployment', 'hello/nightly'], { cwd: HELLO_EXAMPLE });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('the config declares no deployment hello/nightly');
    expect(r.stderr).toContain('declared: hello/default');
  });

  it('exits 2 when there is no config file', async () => {
    const r = await outpost(['deploy', '--dry-run'], { cwd: scratch });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no config file at');
  });

  it('reports a flow module that throws while loading, without a stack trace', async () => {
    const dir = await makeProject({
      'outpost.config.ts': CONFIG('oci-layout:./registry'),
      'flows/greet.ts': FLOW('greet', "if (!process.env.NEVER_SET) throw new Error('database URL missing');"),
    });
    dirs.push(dir);
    const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('importing flows/greet.ts failed: database URL missing');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 3 with a clear message when the registry cannot be reached', async () => {
    const api = await startWhoamiServer();
    try {
      const registry = `oci://127.0.0.1:${await closedPort()}/acme/greet`;
      const dir = await makeProject({ 'outpost.config.ts': CONFIG(registry), 'flows/greet.ts': FLOW('greet') });
      dirs.push(dir);
      const r = await outpost(['deploy'], { cwd: dir, env: { OUTPOST_API_URL: api.url, OUTPOST_API_KEY: 'op_test' } });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`cannot push the bundle to ${registry}: the registry is unreachable`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      // Nothing may be registered when the push failed.
      expect(api.requests.map((q) => q.url)).toEqual(['/api/v1/whoami']);
    } finally {
      await api.close();
    }
  });

  describe('an asset deployment', () => {
    const ASSETS_CONFIG = (
      deployments = "[{ name: 'warehouse', entrypoint: 'assets.ts', assets: true }]",
    ) => `import { defineConfig } from '@outpost/sdk';
export default defineConfig({ project: 'warehouse', registry: 'oci-layout:./registry', deployments: ${deployments} });
`;
    const ASSETS = (modelBody = 'Object.keys(f).length') => `import { asset, check, partitions } from '@outpost/sdk';
const daily = partitions.daily({ start: '2026-01-01', timezone: 'Europe/Berlin' });
export const events = asset({ key: 'raw/events', partitions: daily }, async (ctx) => [ctx.partition.key]);
export const features = asset(
  { key: 'features', deps: [events], partitions: daily, checks: [check('not_empty', { blocking: true }, (v: number) => v > 0)] },
  async (_ctx, e) => e.length,
);
export const model = asset({ key: 'model/churn', deps: [features], owners: ['team:ml'] }, async (_ctx, f) => ${modelBody});
`;

    it('--dry-run lists the assets the entrypoint defines: upstream, partitions, checks, code version and source line', async () => {
      const dir = await makeProject({ 'outpost.config.ts': ASSETS_CONFIG(), 'assets.ts': ASSETS() });
      dirs.push(dir);
      const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
      expect(r.stderr).not.toContain('error');
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('would register assets/warehouse: flow assets in assets.mjs, pool default/default');
      expect(r.stdout).toContain('  would register 3 assets:');
      expect(r.stdout).toMatch(
        / {4}raw\/events {2}partitions daily from 2026-01-01 \(Europe\/Berlin\); code version [0-9a-f]{12}; assets\.ts:3\n/,
      );
      expect(r.stdout).toMatch(
        / {4}features {2}← raw\/events; partitions daily .*; checks not_empty \(blocking\); code version [0-9a-f]{12}; assets\.ts:4\n/,
      );
      expect(r.stdout).toMatch(/ {4}model\/churn {2}← features; code version [0-9a-f]{12}; assets\.ts:8\n/);
    });

    it('changing one asset’s code changes that asset’s code version only', async () => {
      const versions = async (modelBody: string) => {
        const dir = await makeProject({ 'outpost.config.ts': ASSETS_CONFIG(), 'assets.ts': ASSETS(modelBody) });
        dirs.push(dir);
        const r = await outpost(['deploy', '--dry-run', '--json'], { cwd: dir });
        expect(r.code).toBe(0);
        const out = JSON.parse(r.stdout) as { deployments: { assets: { key: string; codeVersion: string }[] }[] };
        return Object.fromEntries(out.deployments[0]!.assets.map((a) => [a.key, a.codeVersion]));
      };
      const before = await versions('Object.keys(f).length');
      const after = await versions('Object.keys(f).length + 1');
      expect(after['model/churn']).not.toBe(before['model/churn']);
      expect(after['raw/events']).toBe(before['raw/events']);
      expect(after.features).toBe(before.features);
    });

    it('exits 2 naming both places when a key is defined twice', async () => {
      const dir = await makeProject({
        'outpost.config.ts': ASSETS_CONFIG(),
        'assets.ts': `import { asset } from '@outpost/sdk';
import './more.ts';
export const a = asset({ key: 'shared/key' }, () => 1);
`,
        'more.ts': `import { asset } from '@outpost/sdk';

export const b = asset({ key: 'shared/key' }, () => 2);
`,
      });
      dirs.push(dir);
      const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("assets.ts: asset key 'shared/key' is defined twice: at more.ts:3 and at assets.ts:3");
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });

    it('exits 2 naming both deployments when two asset deployments define the same key', async () => {
      const dir = await makeProject({
        'outpost.config.ts': ASSETS_CONFIG(
          "[{ name: 'one', entrypoint: 'one.ts', assets: true }, { name: 'two', entrypoint: 'two.ts', assets: true }]",
        ),
        'one.ts': "import { asset } from '@outpost/sdk';\nexport const a = asset({ key: 'taken' }, () => 1);\n",
        'two.ts': "import { asset } from '@outpost/sdk';\n\nexport const b = asset({ key: 'taken' }, () => 2);\n",
      });
      dirs.push(dir);
      const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(
        "asset key 'taken' is defined twice: at one.ts:2 (deployment assets/one) and at two.ts:3 (deployment assets/two)",
      );
    });

    it('exits 2 printing the cycle when assets depend on each other in a circle', async () => {
      const dir = await makeProject({
        'outpost.config.ts': ASSETS_CONFIG(),
        'assets.ts': `import { asset } from '@outpost/sdk';
export const a = asset({ key: 'loop/a', deps: ['loop/c'] }, () => 1);
export const b = asset({ key: 'loop/b', deps: [a] }, () => 2);
export const c = asset({ key: 'loop/c', deps: [b] }, () => 3);
`,
      });
      dirs.push(dir);
      const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('deployment assets/warehouse: the asset graph has a cycle: loop/a → loop/c → loop/b → loop/a');
      expect(r.stderr).toContain('loop/a is defined at assets.ts:2');
    });

    it('exits 2 when the entrypoint of an asset deployment defines no assets, or the config names another flow', async () => {
      const dir = await makeProject({ 'outpost.config.ts': ASSETS_CONFIG(), 'assets.ts': FLOW('greet') });
      dirs.push(dir);
      const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('deployment assets/warehouse: assets.ts defines no assets');

      const other = await makeProject({
        'outpost.config.ts': ASSETS_CONFIG("[{ flow: 'greet', name: 'x', entrypoint: 'assets.ts', assets: true }]"),
        'assets.ts': ASSETS(),
      });
      dirs.push(other);
      const bad = await outpost(['deploy', '--dry-run'], { cwd: other });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain(
        'deployments.0.flow: a deployment with assets: true runs the built-in "assets" flow; omit flow',
      );
    });
  });
});
