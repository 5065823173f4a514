import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, outpost } from './cli.support.js';

const REPO = join(import.meta.dirname, '..', '..');
const CLI_DIR = join(REPO, 'cli');

interface ProjectPackage {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  scripts: Record<string, string>;
}

function readProject(dir: string): { pkg: ProjectPackage; config: string } {
  return {
    pkg: JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as ProjectPackage,
    config: readFileSync(join(dir, 'outpost.config.ts'), 'utf8'),
  };
}

describe('outpost init', () => {
  let scratch: string;
  let server: TestServer;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-init-'));
    server = await startTestServer({ loops: false });
  });

  afterAll(async () => {
    await server.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('writes a typed project that depends on this checkout by file: paths, with its tools, tsconfig and scripts', async () => {
    const dir = join(scratch, 'plain');
    const result = await outpost(['init', dir]);
    expect(result.code, result.stderr).toBe(0);
    for (const file of [
      'outpost.config.ts',
      'flows/example.ts',
      'flows/example.test.ts',
      'package.json',
      'tsconfig.json',
      '.gitignore',
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const { pkg, config } = readProject(dir);
    expect(pkg.dependencies['@outpost/sdk']).toBe(`file:${relative(dir, join(REPO, 'sdk'))}`);
    expect(pkg.devDependencies['@outpost/cli']).toBe(`file:${relative(dir, join(REPO, 'cli'))}`);
    const root = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
    expect(pkg.devDependencies.typescript).toBe(root.devDependencies.typescript);
    expect(pkg.devDependencies.vitest).toBe(root.devDependencies.vitest);
    expect(pkg.scripts).toMatchObject({ test: 'vitest run', typecheck: 'tsc --noEmit', deploy: 'outpost deploy' });
    expect(pkg.scripts.run).toBe('outpost run example/default --watch');
    // No API configured: the default pool.
    expect(config).toContain("pool: 'default'");
    expect(result.stdout).toContain('on pool "default"');
  });

  it('names published packages with --sdk-version', async () => {
    const dir = join(scratch, 'published');
    const result = await outpost(['init', dir, '--sdk-version', '^0.3.0']);
    expect(result.code, result.stderr).toBe(0);
    const { pkg } = readProject(dir);
    expect(pkg.dependencies['@outpost/sdk']).toBe('^0.3.0');
    expect(pkg.devDependencies['@outpost/cli']).toBe('^0.3.0');
  });

  it('targets a pool that a live worker polls, preferring local, and --pool over both', async () => {
    const env = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey };
    const pool = `gpu-${randomUUID().slice(0, 6)}`;
    await server.app.request(`/api/v1/work-pools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: pool }),
    });
    const beat = async (name: string) => {
      const key = await server.createKey('worker', [name]);
      const res = await server.app.request(`/api/v1/work-pools/${name}/workers/heartbeat`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ workerId: randomUUID(), name: 'w', capacity: 1, runs: [] }),
      });
      expect(res.status).toBe(200);
    };
    // Only a pool with no worker: the default.
    const idle = await outpost(['init', join(scratch, 'idle')], { env });
    expect(readProject(join(scratch, 'idle')).config, idle.stderr).toContain("pool: 'default'");

    await beat(pool);
    await outpost(['init', join(scratch, 'live')], { env });
    expect(readProject(join(scratch, 'live')).config).toContain(`pool: '${pool}'`);

    await server.app.request(`/api/v1/work-pools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'local' }),
    });
    await beat('local');
    await outpost(['init', join(scratch, 'local')], { env });
    expect(readProject(join(scratch, 'local')).config).toContain("pool: 'local'");

    await outpost(['init', join(scratch, 'chosen'), '--pool', 'batch'], { env });
    expect(readProject(join(scratch, 'chosen')).config).toContain("pool: 'batch'");
  });

  it('says so when the project would land inside the Outpost repository', async () => {
    const dir = join(REPO, 'test', 'artifacts', `inside-${randomUUID().slice(0, 6)}`);
    try {
      const result = await outpost(['init', dir]);
      expect(result.code).toBe(0);
      expect(result.stderr).toContain('is inside the Outpost repository; a project of your own belongs next to it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('outpost init in an existing project', () => {
  let scratch: string;

  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-init-existing-'));
  });

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  /** A project of someone's own: a package.json with scripts and a dependency, and a flow file of the same name. */
  function existingProject(dir: string): void {
    mkdirSync(join(dir, 'flows'), { recursive: true });
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify(
        {
          name: 'mine',
          version: '2.0.0',
          type: 'module',
          scripts: { test: 'node --test', build: 'tsc' },
          dependencies: { zod: '^4.1.0' },
        },
        null,
        2,
      )}\n`,
    );
    writeFileSync(join(dir, 'flows', 'example.ts'), 'export const mine = 1;\n');
    writeFileSync(join(dir, '.gitignore'), 'dist/\n');
  }

  it('adds its files and scripts, keeps every existing file and script, and says what it skipped', async () => {
    const dir = join(scratch, 'mine');
    existingProject(dir);
    const result = await outpost(['init', dir, '--skip-install']);
    expect(result.code, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'flows', 'example.ts'), 'utf8')).toBe('export const mine = 1;\n');
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('dist/\n');
    for (const file of ['outpost.config.ts', 'flows/example.test.ts', 'tsconfig.json']) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as ProjectPackage & { name: string };
    expect(pkg.name).toBe('mine');
    expect(pkg.scripts).toMatchObject({ test: 'node --test', build: 'tsc', deploy: 'outpost deploy', typecheck: 'tsc --noEmit' });
    expect(pkg.dependencies.zod).toBe('^4.1.0');
    expect(pkg.dependencies['@outpost/sdk']).toBe(`file:${relative(dir, join(REPO, 'sdk'))}`);
    expect(pkg.devDependencies['@outpost/cli']).toBe(`file:${relative(dir, join(REPO, 'cli'))}`);
    expect(result.stderr).toContain(`skipped ${join(dir, 'flows', 'example.ts')} (it exists; left as it is)`);
    expect(result.stderr).toContain(`skipped ${join(dir, '.gitignore')}`);
    expect(result.stderr).toContain('kept your script "test" in package.json (outpost init would have set: vitest run)');
    expect(result.stdout).toContain('skipped (they exist): flows/example.ts, .gitignore');
    expect(result.stdout).toContain(`then install: (cd ${dir} && npm install)`);
  });

  it('makes a project with no code of its own ES modules, and leaves one with code as it is', async () => {
    const bare = join(scratch, 'bare');
    mkdirSync(bare, { recursive: true });
    // What `npm init -y` writes with npm 11.
    writeFileSync(
      join(bare, 'package.json'),
      `${JSON.stringify({ name: 'bare', version: '1.0.0', type: 'commonjs' }, null, 2)}\n`,
    );
    const made = await outpost(['init', bare, '--skip-install']);
    expect(made.code, made.stderr).toBe(0);
    expect((JSON.parse(readFileSync(join(bare, 'package.json'), 'utf8')) as { type: string }).type).toBe('module');
    expect(made.stderr).toContain('set "type": "module" in package.json');

    const withCode = join(scratch, 'with-code');
    mkdirSync(join(withCode, 'src'), { recursive: true });
    writeFileSync(join(withCode, 'package.json'), `${JSON.stringify({ name: 'with-code', version: '1.0.0' }, null, 2)}\n`);
    writeFileSync(join(withCode, 'src', 'index.js'), "module.exports = require('node:os').hostname();\n");
    const kept = await outpost(['init', withCode, '--skip-install']);
    expect(kept.code, kept.stderr).toBe(0);
    expect((JSON.parse(readFileSync(join(withCode, 'package.json'), 'utf8')) as { type?: string }).type).toBeUndefined();
    expect(kept.stderr).toContain('note: package.json has no "type": "module"');
  });

  it('names the install command of the lock file the project has', async () => {
    const dir = join(scratch, 'pnpm');
    existingProject(dir);
    writeFileSync(join(dir, 'pnpm-lock.yaml'), "lockfileVersion: '9.0'\n");
    const result = await outpost(['init', dir, '--skip-install']);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain(`then install: (cd ${dir} && pnpm install)`);
  });

  it('outside a clone of Outpost, depends on the registry packages at ^ its own version', async () => {
    // An install as npm leaves it: the CLI and the SDK under node_modules (inside cli/, so their
    // own dependencies resolve as they do here).
    const install = mkdtempSync(join(CLI_DIR, '.init-test-'));
    try {
      const modules = join(install, 'node_modules', '@outpost');
      for (const part of ['bin', 'dist', 'package.json'])
        cpSync(join(CLI_DIR, part), join(modules, 'cli', part), { recursive: true });
      for (const part of ['dist', 'package.json'])
        cpSync(join(REPO, 'sdk', part), join(modules, 'sdk', part), { recursive: true });
      const dir = join(scratch, 'outside');
      existingProject(dir);
      const bin = join(modules, 'cli', 'bin', 'outpost.js');
      expect(bin).not.toBe(CLI);
      const result = await runNode([bin, 'init', dir, '--skip-install']);
      expect(result.code, result.stderr).toBe(0);
      const version = (JSON.parse(readFileSync(join(CLI_DIR, 'package.json'), 'utf8')) as { version: string }).version;
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as ProjectPackage;
      expect(pkg.dependencies['@outpost/sdk']).toBe(`^${version}`);
      expect(pkg.devDependencies['@outpost/cli']).toBe(`^${version}`);
    } finally {
      rmSync(install, { recursive: true, force: true });
    }
  });
});

function runNode(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('outpost run on a pool no worker polls', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startTestServer({ loops: false });
  });

  afterAll(async () => {
    await server.close();
  });

  it('says that no worker is polling the pool and how to start one', async () => {
    const pool = await server.app.request('/api/v1/work-pools', {
      method: 'POST',
      headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'lonely' }),
    });
    expect(pool.status).toBe(201);
    const res = await server.app.request('/api/v1/deployments', {
      method: 'PUT',
      headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        flowName: 'etl',
        name: 'nightly',
        source: `oci://127.0.0.1:5000/acme/flows@sha256:${'a'.repeat(64)}`,
        entrypoint: 'flows/etl.js',
        workPool: 'lonely',
      }),
    });
    expect(res.status).toBe(200);
    const result = await outpost(['run', 'etl/nightly'], {
      env: { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('no worker is polling pool "lonely" — start one with: outpost worker start --pool lonely');
  });
});
