/**
 * A real npm registry on 127.0.0.1 for install, version-skew and upgrade tests: Verdaccio with no
 * uplinks. It holds every third-party package the four published Outpost packages need, in the
 * versions this repository's lockfile names, taken from the npm cache that `npm ci` filled; nothing
 * is fetched from elsewhere, and a package it lacks fails the install with a 404 instead of leaving
 * the machine. Tests publish Outpost's own tarballs to it.
 *
 * Seeding packs some 250 packages; the seeded storage is kept under the system's temporary directory,
 * keyed by the lockfile's hash, and each registry starts from a copy of it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { repoRoot } from './processes.js';

const run = promisify(execFile);

/** The packages published from this repository, by folder, in the order a registry needs them. */
export const PUBLISHED = ['sdk', 'worker', 'services/server', 'cli'] as const;

/** The tools `outpost init` writes into a project's devDependencies (cli/src/commands/init.ts). */
const PROJECT_TOOLS = ['typescript', 'vitest', 'tsx', '@types/node'];

export interface LocalRegistry {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  /** Publishes one package tarball (a `.tgz` as `npm pack` writes it). */
  publish(tarball: string): Promise<void>;
  /**
   * The environment for `npm` and `npx` run as a new user: only PATH and the variables given, with
   * HOME at `home`, npm's cache inside it (empty at first) and this registry as npm's registry.
   */
  npmEnv(home: string, extra?: Record<string, string>): Record<string, string>;
  stop(): Promise<void>;
}

interface LockEntry {
  version?: string;
  link?: boolean;
  optional?: boolean;
  os?: string[];
  cpu?: string[];
  libc?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** Whether an `os` or `cpu` list (`["linux"]`, `["!win32"]`) admits this machine's value. */
function admits(list: string[] | undefined, value: string): boolean {
  if (!list) return true;
  if (list.includes(`!${value}`)) return false;
  const allowed = list.filter((item) => !item.startsWith('!'));
  return allowed.length === 0 || allowed.includes(value);
}

/** `glibc` or `musl` on Linux, as npm tells them apart. */
function libc(): string {
  const report = process.report?.getReport() as { header?: { glibcVersionRuntime?: string } } | undefined;
  return report?.header?.glibcVersionRuntime ? 'glibc' : 'musl';
}

function platformFits(entry: LockEntry): boolean {
  return (
    admits(entry.os, process.platform) &&
    admits(entry.cpu, process.arch) &&
    (process.platform !== 'linux' || admits(entry.libc, libc()))
  );
}

/** Orders exact versions from a lockfile (numeric segments compared as numbers). */
function versionOrder(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/** Where npm would find `name` from the package at `location` in a lockfile's `packages` map. */
function resolveIn(packages: Record<string, LockEntry>, location: string, name: string): string | null {
  let from = location;
  for (;;) {
    const candidate = from === '' ? `node_modules/${name}` : `${from}/node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (from === '') return null;
    // Up one level: from a nested package to the one holding it, from a top-level one or a workspace to the root.
    const cut = from.lastIndexOf('/node_modules/');
    from = cut >= 0 ? from.slice(0, cut) : '';
  }
}

/**
 * Every third-party `name@version` the published packages need, read from the lockfile: their
 * dependencies, optional dependencies that fit this machine, and required peers, followed through.
 */
export function thirdPartyClosure(lock: { packages: Record<string, LockEntry> }): { name: string; version: string }[] {
  const { packages } = lock;
  const seen = new Map<string, { name: string; version: string }>();
  const queue: string[] = [...PUBLISHED];
  // What `outpost init` adds to a project besides Outpost's own packages, as the repository pins them.
  for (const name of PROJECT_TOOLS) {
    const found = resolveIn(packages, '', name);
    if (!found?.startsWith('node_modules/') || !packages[found]?.version) throw new Error(`the lockfile has no ${name}`);
    seen.set(`${name}@${packages[found]!.version}`, { name, version: packages[found]!.version! });
    queue.push(found);
  }
  const visited = new Set<string>();
  while (queue.length > 0) {
    const location = queue.shift()!;
    if (visited.has(location)) continue;
    visited.add(location);
    const entry = packages[location];
    if (!entry) throw new Error(`the lockfile has no entry ${location}`);
    const wanted = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((name) => !entry.peerDependenciesMeta?.[name]?.optional),
    ];
    for (const name of wanted) {
      if (name.startsWith('@outpost/')) continue;
      const found = resolveIn(packages, location, name);
      if (!found) {
        if (entry.optionalDependencies?.[name] || entry.peerDependencies?.[name]) continue;
        throw new Error(`the lockfile cannot resolve ${name} from ${location || 'the root'}`);
      }
      const target = packages[found]!;
      if (target.link || !target.version) continue;
      if (!platformFits(target)) continue;
      seen.set(`${name}@${target.version}`, { name, version: target.version });
      queue.push(found);
    }
  }
  return [...seen.values()].sort((a, b) => a.name.localeCompare(b.name) || versionOrder(a.version, b.version));
}

/** The `package.json` inside a package tarball. */
export function manifestOf(tarball: Buffer): Record<string, unknown> {
  const tar = gunzipSync(tarball);
  let paxPath: string | null = null;
  for (let offset = 0; offset + 512 <= tar.length; ) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1);
    const prefix = field(345, 155);
    const name = paxPath ?? (prefix ? `${prefix}/${field(0, 100)}` : field(0, 100));
    const body = tar.subarray(offset + 512, offset + 512 + size);
    paxPath = null;
    if (type === 'x') {
      const match = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      paxPath = match ? match[1]! : null;
    } else if (/^[^/]+\/package\.json$/.test(name)) {
      return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
    }
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error('the tarball holds no package.json');
}

/** Publishes a tarball the way `npm publish` does: one PUT of the manifest with the tarball attached. */
async function putTarball(url: string, tarball: Buffer): Promise<void> {
  const manifest = manifestOf(tarball);
  const name = String(manifest.name);
  const version = String(manifest.version);
  const file = `${name.split('/').pop()}-${version}.tgz`;
  const { scripts: _scripts, ...published } = manifest;
  const body = {
    _id: name,
    name,
    'dist-tags': { latest: version },
    versions: {
      [version]: {
        ...published,
        scripts: manifest.scripts ?? {},
        _id: `${name}@${version}`,
        dist: {
          integrity: `sha512-${createHash('sha512').update(tarball).digest('base64')}`,
          shasum: createHash('sha1').update(tarball).digest('hex'),
          tarball: `${url}${name}/-/${file}`,
        },
      },
    },
    _attachments: {
      [file]: { content_type: 'application/octet-stream', data: tarball.toString('base64'), length: tarball.length },
    },
  };
  // A connection can drop while the body goes out (EPIPE on a socket the registry closed): try again.
  // Each version is published once, so a conflict on a later try means an earlier one landed.
  const json = JSON.stringify(body);
  for (let attempt = 1; ; attempt++) {
    let res: Response;
    try {
      res = await fetch(`${url}${name.replace('/', '%2f')}`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: json,
      });
    } catch (error) {
      if (attempt < 3) continue;
      throw new Error(`publishing ${name}@${version} to ${url} failed ${attempt} times: ${String(error)}`, { cause: error });
    }
    if (res.ok || (res.status === 409 && attempt > 1)) {
      await res.body?.cancel();
      return;
    }
    throw new Error(`publishing ${name}@${version} to ${url} failed: ${res.status} ${await res.text()}`);
  }
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`Verdaccio exited (${child.exitCode}): ${output()}`);
    try {
      const res = await fetch(`${url}-/ping`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`Verdaccio did not answer at ${url} within a minute: ${output()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function launch(storage: string, ownsStorage = true): Promise<LocalRegistry> {
  const dir = await mkdtemp(join(tmpdir(), 'outpost-verdaccio-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const config = join(dir, 'config.yaml');
  await writeFile(
    config,
    [
      `storage: ${JSON.stringify(storage)}`,
      'auth:',
      '  htpasswd:',
      `    file: ${JSON.stringify(join(dir, 'htpasswd'))}`,
      '    max_users: -1',
      'uplinks: {}',
      'packages:',
      "  '**':",
      '    access: $all',
      '    publish: $all',
      '    unpublish: $all',
      'max_body_size: 200mb',
      'web:',
      '  enable: false',
      'log: { type: stdout, format: json, level: warn }',
      '',
    ].join('\n'),
  );
  const child = spawn(join(repoRoot, 'node_modules/.bin/verdaccio'), ['--config', config, '--listen', `127.0.0.1:${port}`], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: dir },
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  await waitForPing(url, child, () => output);
  return {
    url,
    publish: async (tarball) => putTarball(url, await readFile(tarball)),
    npmEnv: (home, extra = {}) => ({
      PATH: process.env.PATH ?? '',
      HOME: home,
      npm_config_userconfig: join(home, '.npmrc'),
      npm_config_cache: join(home, '.npm'),
      npm_config_registry: url,
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
      ...extra,
    }),
    stop: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      await rm(dir, { recursive: true, force: true });
      if (ownsStorage) await rm(storage, { recursive: true, force: true });
    },
  };
}

/** Packs the third-party closure from the npm cache (offline) and publishes it into a new storage folder. */
async function seed(target: string): Promise<void> {
  const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
  const wanted = thirdPartyClosure(lock);
  const work = await mkdtemp(join(tmpdir(), 'outpost-registry-seed-'));
  try {
    const tarballs = join(work, 'tarballs');
    await mkdir(tarballs);
    // npm's cache holds each package's metadata and tarball since `npm ci`; --offline keeps it there.
    for (let i = 0; i < wanted.length; i += 100) {
      const specs = wanted.slice(i, i + 100).map(({ name, version }) => `${name}@${version}`);
      await run('npm', ['pack', '--offline', '--loglevel=error', '--pack-destination', tarballs, ...specs], {
        cwd: work,
        maxBuffer: 64 * 1024 * 1024,
        env: { ...withoutNpmVariables(process.env), npm_config_update_notifier: 'false' },
      }).catch((error: { stderr?: string }) => {
        throw new Error(`packing the registry's packages from the npm cache failed (run npm ci first): ${error.stderr ?? error}`);
      });
    }
    const storage = join(work, 'storage');
    await mkdir(storage);
    const registry = await launch(storage, false);
    try {
      // Oldest version first, so each package's `latest` ends on its newest.
      const files = await readdir(tarballs);
      const byManifest = await Promise.all(
        files.map(async (file) => {
          const bytes = await readFile(join(tarballs, file));
          return { bytes, manifest: manifestOf(bytes) };
        }),
      );
      byManifest.sort(
        (a, b) =>
          String(a.manifest.name).localeCompare(String(b.manifest.name)) ||
          versionOrder(String(a.manifest.version), String(b.manifest.version)),
      );
      for (const { bytes } of byManifest) await putTarball(registry.url, bytes);
    } finally {
      await registry.stop();
    }
    await rm(target, { recursive: true, force: true });
    await rename(storage, target).catch(async (error: NodeJS.ErrnoException) => {
      // Another file seeded the same storage first: use theirs.
      if (!existsSync(target)) throw error;
    });
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function withoutNpmVariables(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((entry): entry is [string, string] => entry[1] !== undefined && !/^npm_/i.test(entry[0])),
  );
}

function lockHash(): string {
  return createHash('sha256')
    .update(readFileSync(join(repoRoot, 'package-lock.json')))
    .update(PROJECT_TOOLS.join(','))
    .digest('hex')
    .slice(0, 16);
}

/** Starts a registry holding the third-party packages Outpost needs; publish Outpost's own to it. */
export async function startLocalRegistry(): Promise<LocalRegistry> {
  const seeded = join(tmpdir(), `outpost-registry-${lockHash()}`);
  if (!existsSync(join(seeded, '.seeded'))) {
    await seed(seeded);
    await writeFile(join(seeded, '.seeded'), new Date().toISOString());
  }
  const storage = await mkdtemp(join(tmpdir(), 'outpost-registry-storage-'));
  await cp(seeded, storage, { recursive: true });
  return await launch(storage);
}

/** Packs the publishable packages of this checkout (built already) into `dir`: package name → tarball. */
export async function packCurrentRelease(dir: string): Promise<Record<string, string>> {
  await mkdir(dir, { recursive: true });
  const tarballs: Record<string, string> = {};
  for (const folder of PUBLISHED) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], {
      cwd: join(repoRoot, folder),
      maxBuffer: 64 * 1024 * 1024,
      env: { ...withoutNpmVariables(process.env), npm_config_update_notifier: 'false' },
    });
    const [packed] = JSON.parse(stdout) as { name: string; filename: string }[];
    tarballs[packed!.name] = join(dir, packed!.filename);
  }
  return tarballs;
}

/** The tarballs of a previous release kept in test/fixtures/releases/<version>/: package name → path. */
export function previousRelease(version = '0.1.0'): { version: string; tarballs: Record<string, string> } {
  const dir = join(repoRoot, 'test/fixtures/releases', version);
  const tarballs: Record<string, string> = {};
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.tgz'))) {
    const manifest = manifestOf(readFileSync(join(dir, file)));
    tarballs[String(manifest.name)] = join(dir, file);
  }
  return { version, tarballs };
}

/** Bytes under `path` as `du -sb` counts them: a symlink (node_modules/.bin, a shared library's alias) is not followed. */
function treeBytes(path: string): number {
  const info = lstatSync(path, { throwIfNoEntry: false });
  if (!info) return 0;
  if (!info.isDirectory()) return info.size;
  return readdirSync(path).reduce((sum, entry) => sum + treeBytes(join(path, entry)), 0);
}

/**
 * `npm install <specs…>` from the registry into `dir` (created with a private package.json), as a user
 * whose HOME is `home` (a new one inside `dir`'s parent when absent). Returns the seconds it took and
 * the bytes of `node_modules`.
 */
export async function installFrom(
  registry: LocalRegistry,
  dir: string,
  specs: string[],
  home?: string,
): Promise<{ seconds: number; bytes: number }> {
  await mkdir(dir, { recursive: true });
  const userHome = home ?? (await mkdtemp(join(tmpdir(), 'outpost-home-')));
  await mkdir(userHome, { recursive: true });
  if (!existsSync(join(dir, 'package.json'))) {
    const name =
      basename(dir)
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '-') || 'app';
    await writeFile(join(dir, 'package.json'), `${JSON.stringify({ name, private: true }, null, 2)}\n`);
  }
  const started = performance.now();
  await run('npm', ['install', '--no-audit', '--no-fund', ...specs], {
    cwd: dir,
    maxBuffer: 64 * 1024 * 1024,
    env: registry.npmEnv(userHome),
  }).catch((error: { stderr?: string; message: string }) => {
    throw new Error(`npm install ${specs.join(' ')} from ${registry.url} failed: ${error.stderr ?? error.message}`);
  });
  const seconds = (performance.now() - started) / 1000;
  return { seconds, bytes: treeBytes(join(dir, 'node_modules')) };
}
