import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outpost } from './cli.support.js';

const REPO = join(import.meta.dirname, '..', '..');

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
