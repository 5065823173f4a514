import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedPort, HELLO_EXAMPLE, outpost, startWhoamiServer } from './cli.support.js';

const ROOT_NODE_MODULES = fileURLToPath(new URL('../../node_modules', import.meta.url));

/** A throwaway project that resolves @outpost/sdk through the repository's node_modules. */
async function makeProject(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-cli-project-'));
  await symlink(ROOT_NODE_MODULES, join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), text);
  }
  return dir;
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
});
