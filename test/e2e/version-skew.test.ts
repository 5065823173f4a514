/**
 * Versions that mix, as they do where a platform team hosts the control plane and every team
 * upgrades its CLI and workers on its own schedule (docs/versions.md): the previous release's CLI
 * and worker, installed from the registry, against this checkout's server; this checkout's CLI and
 * worker against the previous release's server; and a worker older than the server supports.
 */

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { cp, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, type TestDatabase } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ApiProcess, startApiProcess } from '../support/api-process.js';
import { emptyDatabase } from '../support/empty-database.js';
import { installFrom, type LocalRegistry, previousRelease, startLocalRegistry } from '../support/local-registry.js';
import { repoRoot, runCli, type Spawned, spawnCli, spawnNode } from '../support/processes.js';

const CURRENT = (JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
const PREVIOUS = previousRelease('0.1.0');

/** A project of one flow, as `outpost init` would leave it, whose bundle goes to an OCI layout beside it. */
const CONFIG = `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'skew',
  registry: 'oci-layout:./registry',
  deployments: [{ flow: 'skew', name: 'default', entrypoint: 'flows/skew.ts', pool: 'default' }],
});
`;
const FLOW = `import { flow, log } from '@outpost/sdk';
export const skew = flow({ name: 'skew' }, async () => {
  log.info('skew flow ran');
  return 42;
});
`;

async function writeProject(dir: string, nodeModules: string): Promise<string> {
  await mkdir(join(dir, 'flows'), { recursive: true });
  await symlink(nodeModules, join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "name": "skew", "private": true, "type": "module" }\n');
  await writeFile(join(dir, 'outpost.config.ts'), CONFIG);
  await writeFile(join(dir, 'flows/skew.ts'), FLOW);
  return dir;
}

/** Runs `bin` (an installed package's command) to its end in `cwd`; its exit code, stdout and stderr apart. */
async function runBin(bin: string, args: string[], env: Record<string, string>, cwd: string) {
  const child = spawn(process.execPath, [bin, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const [code] = (await once(child, 'close')) as [number | null];
  return { code, stdout, stderr, output: stdout + stderr };
}

describe(`version skew between ${PREVIOUS.version} and ${CURRENT}`, () => {
  let scratch: string;
  let registry: LocalRegistry;
  /** Where the previous release's four packages are installed from the registry. */
  let previous: string;
  let home: string;
  const processes: Spawned[] = [];
  const databases: TestDatabase[] = [];
  let server: ApiProcess;
  let serverEnv: Record<string, string>;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'outpost-version-skew-'));
    home = join(scratch, 'home');
    await mkdir(home, { recursive: true });
    const db = await createTestDatabase();
    databases.push(db);
    [registry, server] = await Promise.all([startLocalRegistry(), startApiProcess(db.url, {}, { expectOwnerKey: true })]);
    for (const tarball of Object.values(PREVIOUS.tarballs)) await registry.publish(tarball);
    previous = join(scratch, 'previous');
    const names = Object.keys(PREVIOUS.tarballs).map((name) => `${name}@${PREVIOUS.version}`);
    await installFrom(registry, previous, names, join(scratch, 'npm-home'));
    serverEnv = { HOME: home, OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey ?? '' };
  }, 240_000);

  afterAll(async () => {
    for (const p of processes) await p.stop('SIGKILL').catch(() => undefined);
    await server?.stop();
    await registry?.stop();
    for (const db of databases) await db.drop().catch(() => undefined);
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  const bin = (name: string) => join(previous, 'node_modules', name);

  it(`runs the ${PREVIOUS.version} CLI and worker against this server: whoami, deploy, and a run to COMPLETED`, async () => {
    const cli = bin('@outpost/cli/bin/outpost.js');
    const version = await runBin(cli, ['--version'], { HOME: home }, previous);
    expect(version.stdout.trim()).toBe(PREVIOUS.version);

    const whoami = await runBin(cli, ['whoami'], serverEnv, previous);
    expect(whoami.output).toMatch(/workspace/i);
    expect(whoami.code).toBe(0);

    const project = await writeProject(join(scratch, 'previous-project'), join(previous, 'node_modules'));
    const deployed = await runBin(cli, ['deploy', '--no-typecheck'], serverEnv, project);
    expect(deployed.output).toMatch(/registered skew\/default/);
    expect(deployed.code).toBe(0);

    const worker = spawnNode(
      bin('@outpost/worker/bin/outpost-worker.js'),
      [
        'start',
        '--pool',
        'default',
        '--poll-wait',
        '1s',
        '--cache-dir',
        join(scratch, 'cache-previous'),
        '--spool-dir',
        join(scratch, 'spool-previous'),
      ],
      serverEnv,
      previous,
    );
    processes.push(worker);
    const run = await runBin(cli, ['run', 'skew/default', '--watch'], serverEnv, project);
    expect(run.output).toContain('COMPLETED');
    expect(run.code).toBe(0);
    expect(worker.output()).not.toMatch(/too old/);

    // The server knows it ran on the previous release's worker.
    const workers = (await (
      await fetch(`${server.url}/api/v1/work-pools/default/workers`, { headers: { authorization: `Bearer ${server.ownerKey}` } })
    ).json()) as { items?: { version?: string | null }[] };
    expect((workers.items ?? []).map((w) => w.version)).toContain(PREVIOUS.version);
    await worker.stop();
  });

  it(`tells a worker older than the server supports so in one line, and keeps serving the others`, async () => {
    // This checkout's worker as a real older release would be: the same code, a package.json saying 0.0.9.
    const old = join(scratch, 'worker-0.0.9');
    await mkdir(old, { recursive: true });
    for (const part of ['bin', 'dist']) await cp(join(repoRoot, 'worker', part), join(old, part), { recursive: true });
    const manifest = JSON.parse(await readFile(join(repoRoot, 'worker/package.json'), 'utf8')) as Record<string, unknown>;
    await writeFile(join(old, 'package.json'), `${JSON.stringify({ ...manifest, version: '0.0.9' }, null, 2)}\n`);
    await symlink(join(repoRoot, 'node_modules'), join(old, 'node_modules'), 'dir');

    const refused = await runBin(
      join(old, 'bin/outpost-worker.js'),
      ['start', '--pool', 'default', '--cache-dir', join(scratch, 'cache-old'), '--spool-dir', join(scratch, 'spool-old')],
      serverEnv,
      old,
    );
    const [major, minor] = CURRENT.split('.');
    expect(refused.stderr).toBe(
      `error: outpost-worker 0.0.9 is too old for this server (${CURRENT}), which supports ${major}.${Math.max(0, Number(minor) - 1)}.0 and newer: upgrade it with \`npm install -g @outpost/worker@^${major}.${minor}\`\n`,
    );
    expect(refused.code).not.toBe(0);
    expect(server.output()).toContain('refused a client too old: outpost-worker 0.0.9');

    const whoami = await runCli(['whoami'], serverEnv);
    expect(whoami.code).toBe(0);
  });

  it(`runs this checkout's CLI and worker against the ${PREVIOUS.version} server: whoami, deploy, and a run to COMPLETED`, async () => {
    const db = await emptyDatabase();
    databases.push(db);
    const old = spawnNode(
      bin('@outpost/server/bin/outpost-server.js'),
      ['start', '--host', '127.0.0.1', '--port', '0'],
      { HOME: home, DATABASE_URL: db.url, OUTPOST_LOG_LEVEL: 'info' },
      previous,
    );
    processes.push(old);
    const [, url, ownerKey] = await old.waitFor(
      /Outpost API: (http:\/\/\S+)\n[\s\S]*Owner API key \(shown once, store it now\): (\S+)\n/,
      90_000,
    );
    const env = { HOME: home, OUTPOST_API_URL: url ?? '', OUTPOST_API_KEY: ownerKey ?? '' };
    // The previous server announces no version: it predates the header.
    expect((await fetch(`${url}/healthz`)).headers.get('outpost-server-version')).toBeNull();

    const whoami = await runCli(['whoami'], env);
    expect(whoami.output).toMatch(/workspace/i);
    expect(whoami.output).not.toContain('note:');
    expect(whoami.code).toBe(0);

    const project = await writeProject(join(scratch, 'current-project'), join(repoRoot, 'node_modules'));
    const deployed = await runCli(['deploy', '--no-typecheck'], env, project);
    expect(deployed.output).toMatch(/registered skew\/default/);
    expect(deployed.code).toBe(0);

    const worker = spawnCli(
      [
        'worker',
        'start',
        '--pool',
        'default',
        '--poll-wait',
        '1s',
        '--cache-dir',
        join(scratch, 'cache-current'),
        '--spool-dir',
        join(scratch, 'spool-current'),
      ],
      env,
    );
    processes.push(worker);
    const run = await runCli(['run', 'skew/default', '--watch'], env, project);
    expect(run.output).toContain('COMPLETED');
    expect(run.code).toBe(0);
    await worker.stop();
    await old.stop();
  });
});
