import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpost, ROOT_NODE_MODULES, writeProject } from './cli.support.js';

const CONFIG = (project: string) => `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: '${project}',
  registry: 'oci-layout:./registry',
  deployments: [{ flow: '${project}', name: 'default', entrypoint: 'flows/greet.ts' }],
});
`;

const FLOW = (project: string, body: string) => `import { flow } from '@outpost/sdk';
export const f = flow({ name: '${project}' }, async () => {
${body}
});
`;

describe('outpost deploy type-checks the project first', () => {
  let server: TestServer;
  let client: OutpostClient;
  let scratch: string;

  beforeAll(async () => {
    server = await startTestServer({ loops: false });
    client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    scratch = await mkdtemp(join(tmpdir(), 'outpost-typecheck-'));
  });
  afterAll(async () => {
    await client?.close();
    await server?.close();
    await rm(scratch, { recursive: true, force: true });
  });

  /** A project resolving `@outpost/sdk` and `@types/node` through the repository's node_modules. */
  async function project(name: string, files: Record<string, string>): Promise<string> {
    const dir = join(scratch, name);
    await mkdir(dir);
    return writeProject(dir, files);
  }

  const env = () => ({ OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey });

  async function deployed(flow: string): Promise<string | null> {
    const found = await client.call('deploymentsGetByName', { params: { flow, name: 'default' } });
    return found.ok ? found.data.source : null;
  }

  it('refuses a project with a type error, printing file:line:col and the count, and deploys nothing', async () => {
    const dir = await project('typo', {
      'outpost.config.ts': CONFIG('typo'),
      'flows/greet.ts': FLOW('typo', "  const n: number = 'x';\n  return n;"),
    });
    const r = await outpost(['deploy'], { cwd: dir, env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("flows/greet.ts:3:9  Type 'string' is not assignable to type 'number'. (TS2322)");
    const last = r.stderr.trim().split('\n').at(-1);
    expect(last).toBe('error: 1 type error: nothing deployed; fix it, or pass --no-typecheck to skip the check');
    expect(r.stderr).not.toContain('building');
    expect(existsSync(join(dir, 'registry'))).toBe(false);
    expect(await deployed('typo')).toBeNull();

    const anyway = await outpost(['deploy', '--no-typecheck'], { cwd: dir, env: env() });
    expect(anyway.code, anyway.stderr).toBe(0);
    expect(anyway.stderr).not.toContain('type-checking');
    expect(await deployed('typo')).toMatch(/@sha256:[a-f0-9]{64}$/);
  });

  it("uses the project's tsconfig.json when it has one", async () => {
    // Indexing an array is `T | undefined` under noUncheckedIndexedAccess: an error with this tsconfig only.
    const body = "  const xs = ['a'];\n  const s: string = xs[0];\n  return s;";
    const loose = await project('loose', { 'outpost.config.ts': CONFIG('loose'), 'flows/greet.ts': FLOW('loose', body) });
    expect((await outpost(['deploy', '--dry-run'], { cwd: loose })).code).toBe(0);

    const strict = await project('strict', {
      'outpost.config.ts': CONFIG('strict'),
      'flows/greet.ts': FLOW('strict', body),
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          strict: true,
          noUncheckedIndexedAccess: true,
          module: 'NodeNext',
          target: 'ES2023',
          skipLibCheck: true,
        },
      }),
    });
    const r = await outpost(['deploy', '--dry-run'], { cwd: strict });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/flows\/greet\.ts:4:9 {2}Type 'string \| undefined' is not assignable to type 'string'\./);
  });

  it('deploys a clean project, started from another directory', async () => {
    const dir = await project('clean', {
      'outpost.config.ts': CONFIG('clean'),
      // Needs the project's @types/node, found from the project, not from where the CLI started.
      'flows/greet.ts': FLOW('clean', "  const n: number = Number(process.env.N ?? '1');\n  return n + 1;"),
    });
    const r = await outpost(['deploy', '--config', dir], { cwd: tmpdir(), env: env() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('type-checking 1 entrypoint');
    expect(r.stdout).toMatch(/created clean\/default/);
    expect(await deployed('clean')).toMatch(/@sha256:[a-f0-9]{64}$/);
  });

  it('type-checks the project `outpost init` scaffolds without an error', async () => {
    const dir = join(scratch, 'scaffolded');
    const init = await outpost(['init', dir]);
    expect(init.code, init.stderr).toBe(0);
    await symlink(ROOT_NODE_MODULES, join(dir, 'node_modules'), 'dir');
    const r = await outpost(['deploy', '--dry-run'], { cwd: dir });
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
  });

  it('skips the check on a redeploy with nothing changed, and checks a changed file again, refusing its type error', async () => {
    const dir = await project('again', {
      'outpost.config.ts': CONFIG('again'),
      'flows/greet.ts': FLOW('again', '  return 1;'),
    });
    const first = await outpost(['deploy'], { cwd: dir, env: env() });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toContain('type-checking 1 entrypoint');
    expect(existsSync(join(dir, '.outpost', 'typecheck.json'))).toBe(true);

    const second = await outpost(['deploy'], { cwd: dir, env: env() });
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toContain('type-check skipped: nothing it reads has changed since it last passed');
    expect(second.stderr).not.toContain('type-checking');
    const pinned = await deployed('again');

    // The config is read by the check too: a change to it alone checks again.
    await writeFile(join(dir, 'outpost.config.ts'), `${CONFIG('again')}// touched\n`);
    const touched = await outpost(['deploy', '--dry-run'], { cwd: dir });
    expect(touched.code, touched.stderr).toBe(0);
    expect(touched.stderr).toContain('type-checking 1 entrypoint');

    await writeFile(join(dir, 'flows/greet.ts'), FLOW('again', "  const n: number = 'x';\n  return n;"));
    const broken = await outpost(['deploy'], { cwd: dir, env: env() });
    expect(broken.code).toBe(2);
    expect(broken.stderr).toContain('type-checking 1 entrypoint');
    expect(broken.stderr).toContain("flows/greet.ts:3:9  Type 'string' is not assignable to type 'number'. (TS2322)");
    expect(await deployed('again')).toBe(pinned);
  }, 180_000);

  it('deploys when the check cannot be kept, saying the next deploy checks again', async () => {
    const dir = await project('unkept', {
      'outpost.config.ts': CONFIG('unkept'),
      'flows/greet.ts': FLOW('unkept', '  return 1;'),
      // A file where the cache's directory would go: neither read nor written, as a read-only checkout.
      '.outpost': 'not a directory\n',
    });
    for (let i = 0; i < 2; i++) {
      const r = await outpost(['deploy'], { cwd: dir, env: env() });
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain('type-checking 1 entrypoint');
      expect(r.stderr).toMatch(
        /warning: the type-check passed, but cannot write \S+\/\.outpost\/typecheck\.json \(E[A-Z]+\): the next deploy checks again/,
      );
    }
    expect(await deployed('unkept')).toMatch(/@sha256:[a-f0-9]{64}$/);
  }, 120_000);

  describe('checks the API key before building anything', () => {
    it('stops at once when the API refuses the key', async () => {
      const dir = await project('refused', {
        'outpost.config.ts': CONFIG('refused'),
        'flows/greet.ts': FLOW('refused', '  return 1;'),
      });
      const r = await outpost(['deploy'], { cwd: dir, env: { ...env(), OUTPOST_API_KEY: 'op_not_a_real_key' } });
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/^error: cannot deploy: /m);
      expect(r.stderr).toContain('check OUTPOST_API_KEY (or --api-key): the API did not accept it');
      expect(r.stderr).not.toMatch(/type-checking|building/);
      expect(existsSync(join(dir, 'registry'))).toBe(false);
    });

    it('stops at once when there is no key', async () => {
      const dir = await project('keyless', {
        'outpost.config.ts': CONFIG('keyless'),
        'flows/greet.ts': FLOW('keyless', '  return 1;'),
      });
      const r = await outpost(['deploy'], { cwd: dir, env: { OUTPOST_API_URL: server.url } });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('error: no API key: pass --api-key or set OUTPOST_API_KEY');
      expect(r.stderr).not.toMatch(/type-checking|building/);
      expect(existsSync(join(dir, 'registry'))).toBe(false);
    });
  });
});
