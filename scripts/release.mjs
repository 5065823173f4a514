#!/usr/bin/env node
// `npm run release -- --dry-run`: builds and packs every publishable package, checks each tarball
// (size budget, no tests, no Python bytecode, no source maps, every `exports` and `bin` target
// present), installs each one alone in an empty directory with the other Outpost tarballs standing
// in for the registry, runs its command, and prints what would be published.
// `npm run release -- --registry <url>` does the same, then publishes the tarballs to that registry.
//
// Options: --dry-run, --registry <url>, --skip-build (the packages are built already),
// --work-dir <dir> (keep the tarballs and installs there instead of a temporary directory that is
// removed), --report <file> (write what was checked as JSON), --install-registry <url> (the registry
// the install checks take third-party packages from; npm's configured one when absent).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs, promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/**
 * The published packages, in publishing order (a package after those it depends on), each with the
 * most its tarball may weigh. The budgets sit some 20% above the sizes of 0.1.0, so a stray folder
 * or an unminified bundle fails the release instead of shipping. Source maps are left out of every
 * tarball: they point at `src/`, which is not published, and a map without its sources helps nobody.
 */
export const PACKAGES = [
  {
    dir: 'sdk',
    budgetBytes: 500_000,
    smoke: [['node', '-e', "await import('@outpost/sdk'); await import('@outpost/sdk/contracts')"]],
  },
  { dir: 'worker', budgetBytes: 200_000, smoke: [['node_modules/.bin/outpost-worker', '--help']] },
  // The API bundled (with the patched postgres), its migrations, the API reference's script (3.5 MB
  // unpacked) and the built dashboard.
  { dir: 'services/server', budgetBytes: 2_200_000, smoke: [['node_modules/.bin/outpost-server', '--help']] },
  { dir: 'cli', budgetBytes: 160_000, smoke: [['node_modules/.bin/outpost', '--version']] },
];

/** Paths no tarball may hold: tests, Python bytecode and tests, source maps. */
const FORBIDDEN = [
  { rule: 'a test file', pattern: /(^|\/)(test|tests|__tests__)\/|\.test\.[cm]?[jt]sx?$|(^|\/)test_[^/]*\.py$/ },
  { rule: 'Python bytecode', pattern: /(^|\/)__pycache__\/|\.py[co]$/ },
  { rule: 'a source map', pattern: /\.map$/ },
];

/** Dependency specs that point into this repository instead of the registry. */
const LOCAL_SPEC = /^(file|link|workspace|portal):/;

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** Every file an `exports` map points at (patterns with `*` excepted). */
function exportTargets(exports) {
  if (typeof exports === 'string') return exports.includes('*') ? [] : [exports];
  if (exports === null || typeof exports !== 'object') return [];
  return Object.values(exports).flatMap(exportTargets);
}

function normal(path) {
  return path.replace(/^\.\//, '');
}

/** What is wrong with a package's manifest for publishing, as sentences; none when it is ready. */
export function manifestProblems(pkg, version, publishable) {
  const problems = [];
  if (pkg.private) problems.push('is private');
  if (pkg.version !== version) problems.push(`has version ${pkg.version}, not the release's ${version}`);
  for (const field of ['files', 'license', 'exports']) {
    if (pkg[field] === undefined) problems.push(`has no "${field}"`);
  }
  if (!pkg.engines?.node) problems.push('has no engines.node');
  for (const field of ['dependencies', 'optionalDependencies', 'peerDependencies']) {
    for (const [name, spec] of Object.entries(pkg[field] ?? {})) {
      if (LOCAL_SPEC.test(spec)) problems.push(`${field} ${name} is a local path (${spec})`);
      if (!name.startsWith('@outpost/')) continue;
      if (!publishable.has(name)) problems.push(`${field} ${name} is not published`);
      if (spec !== `^${version}`) problems.push(`${field} ${name} is ${spec}, not ^${version}`);
    }
  }
  return problems;
}

/** Files outside the packages that name the release's version: the charts and the compose file's default image tag. */
const VERSIONED_FILES = [
  { file: 'infra/helm/outpost/Chart.yaml', patterns: [/^version: (\S+)$/m, /^appVersion: "([^"]+)"$/m] },
  { file: 'infra/helm/outpost-worker/Chart.yaml', patterns: [/^version: (\S+)$/m, /^appVersion: "([^"]+)"$/m] },
  { file: 'infra/compose.yaml', patterns: [/OUTPOST_VERSION:-([^}]+)\}/g] },
];

/** Where the charts, the compose file or the changelog do not name the release's version, as sentences. */
export function versionedFileProblems(root, version) {
  const problems = [];
  for (const { file, patterns } of VERSIONED_FILES) {
    const text = readFileSync(join(root, file), 'utf8');
    for (const pattern of patterns) {
      const found = pattern.global ? [...text.matchAll(pattern)].map((m) => m[1]) : [pattern.exec(text)?.[1]];
      if (found.length === 0 || found[0] === undefined) problems.push(`${file} does not match ${pattern}`);
      for (const value of found)
        if (value !== undefined && value !== version) problems.push(`${file} names ${value}, not ${version}`);
    }
  }
  if (!readFileSync(join(root, 'CHANGELOG.md'), 'utf8').includes(`\n## ${version}\n`))
    problems.push(`CHANGELOG.md has no "## ${version}" section`);
  return problems;
}

/** What is wrong with a packed tarball, as sentences; none when it may be published. */
export function tarballProblems(pkg, packed, budgetBytes) {
  const problems = [];
  const files = new Set(packed.files.map((file) => file.path));
  if (packed.size > budgetBytes) problems.push(`weighs ${kb(packed.size)}, over its budget of ${kb(budgetBytes)}`);
  for (const file of files) {
    for (const { rule, pattern } of FORBIDDEN) if (pattern.test(file)) problems.push(`ships ${rule}: ${file}`);
  }
  for (const target of exportTargets(pkg.exports)) {
    if (!files.has(normal(target))) problems.push(`exports ${target}, which is not in the tarball`);
  }
  const bins = typeof pkg.bin === 'string' ? { [pkg.name]: pkg.bin } : (pkg.bin ?? {});
  for (const [name, target] of Object.entries(bins)) {
    if (target !== normal(target)) problems.push(`bin ${name} is written "${target}"; npm wants "${normal(target)}"`);
    if (!files.has(normal(target))) problems.push(`bin ${name} is ${target}, which is not in the tarball`);
  }
  return problems;
}

function kb(bytes) {
  return `${(bytes / 1000).toFixed(1)} kB`;
}

/** The registry the install checks read third-party packages from (`--install-registry`), if not npm's own. */
let installRegistry;

async function npm(args, cwd) {
  const env = { ...process.env, npm_config_update_notifier: 'false' };
  if (installRegistry && args[0] === 'install') env.npm_config_registry = installRegistry;
  const { stdout } = await run('npm', args, { cwd, maxBuffer: 64 * 1024 * 1024, env });
  return stdout;
}

/**
 * Installs one tarball into an empty directory. The other Outpost packages come from their tarballs
 * (an override per package, so they are installed only where a dependency asks for them); third-party
 * packages from the npm cache, else the public registry.
 */
async function installAlone(dir, name, tarballs) {
  mkdirSync(dir, { recursive: true });
  const others = Object.entries(tarballs).filter(([other]) => other !== name);
  const overrides = Object.fromEntries(others.map(([other, path]) => [other, `file:${path}`]));
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'release-check', private: true, overrides }, null, 2)}\n`);
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', tarballs[name]], dir);
}

/** What `npm install @outpost/cli @outpost/worker @outpost/server` gives: the CLI runs the other two. */
const TOGETHER_SMOKE = [
  ['node_modules/.bin/outpost', 'worker', 'start', '--help'],
  ['node_modules/.bin/outpost', 'server', 'start', '--help'],
];

async function installTogether(dir, tarballs) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'release-check', private: true }, null, 2)}\n`);
  await npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock', ...Object.values(tarballs)], dir);
}

async function smoke(dir, command) {
  const [file, ...args] = command;
  const { stdout } = await run(file === 'node' ? process.execPath : join(dir, file), args, { cwd: dir });
  return stdout;
}

function table(rows) {
  const header = ['package', 'version', 'packed', 'unpacked', 'files'];
  const lines = [header, ...rows.map((r) => [r.name, r.version, kb(r.size), kb(r.unpackedSize), String(r.files.length)])];
  const widths = header.map((_, i) => Math.max(...lines.map((line) => line[i].length)));
  return lines
    .map((line) =>
      line
        .map((cell, i) => cell.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

export async function release(argv) {
  const { values } = parseArgs({
    args: argv,
    options: {
      'dry-run': { type: 'boolean', default: false },
      registry: { type: 'string' },
      'skip-build': { type: 'boolean', default: false },
      'work-dir': { type: 'string' },
      report: { type: 'string' },
      'install-registry': { type: 'string' },
    },
  });
  installRegistry = values['install-registry'];
  const dryRun = values['dry-run'];
  if (!dryRun && !values.registry) {
    throw new Error('refusing to publish without a registry: pass --dry-run, or --registry <url> to publish to');
  }

  const version = readJson(join(ROOT, 'package.json')).version;
  const manifests = PACKAGES.map((entry) => ({ ...entry, pkg: readJson(join(ROOT, entry.dir, 'package.json')) }));
  const publishable = new Set(manifests.map(({ pkg }) => pkg.name));
  const problems = [
    ...manifests.flatMap(({ pkg }) => manifestProblems(pkg, version, publishable).map((p) => `${pkg.name} ${p}`)),
    ...versionedFileProblems(ROOT, version),
  ];
  if (problems.length > 0) throw new Error(`not ready to publish:\n  ${problems.join('\n  ')}`);

  if (!values['skip-build']) {
    process.stderr.write('release: building\n');
    await run('npx', ['turbo', 'run', 'build', ...manifests.flatMap(({ pkg }) => ['--filter', pkg.name])], {
      cwd: ROOT,
      maxBuffer: 64 * 1024 * 1024,
    });
  }

  const work = values['work-dir'] ? resolve(values['work-dir']) : mkdtempSync(join(tmpdir(), 'outpost-release-'));
  const tarballDir = join(work, 'tarballs');
  mkdirSync(tarballDir, { recursive: true });
  try {
    process.stderr.write('release: packing\n');
    const packedAll = [];
    for (const entry of manifests) {
      const [packed] = JSON.parse(await npm(['pack', '--json', '--pack-destination', tarballDir], join(ROOT, entry.dir)));
      packedAll.push({ ...entry, packed, tarball: join(tarballDir, packed.filename) });
    }
    const tarballProblemsAll = packedAll.flatMap(({ pkg, packed, budgetBytes }) =>
      tarballProblems(pkg, packed, budgetBytes).map((p) => `${pkg.name} ${p}`),
    );
    if (tarballProblemsAll.length > 0) throw new Error(`tarballs not fit to publish:\n  ${tarballProblemsAll.join('\n  ')}`);

    process.stderr.write('release: installing each tarball alone\n');
    const tarballs = Object.fromEntries(packedAll.map(({ pkg, tarball }) => [pkg.name, tarball]));
    const installs = join(work, 'installs');
    const together = join(installs, 'together');
    await Promise.all([
      ...packedAll.map(async (entry) => {
        entry.installDir = join(installs, entry.pkg.name.replace('@outpost/', ''));
        await installAlone(entry.installDir, entry.pkg.name, tarballs);
        for (const command of entry.smoke) await smoke(entry.installDir, command);
      }),
      // The CLI hands `worker start` and `server start` over to the packages installed beside it.
      (async () => {
        await installTogether(together, tarballs);
        for (const command of TOGETHER_SMOKE) await smoke(together, command);
      })(),
    ]);

    const rows = packedAll.map(({ packed, tarball, installDir }) => ({
      name: packed.name,
      version: packed.version,
      size: packed.size,
      unpackedSize: packed.unpackedSize,
      files: packed.files.map((file) => file.path),
      tarball,
      installDir,
    }));
    process.stdout.write(`${dryRun ? 'Would publish' : `Publishing to ${values.registry}`}:\n${table(rows)}\n`);
    if (values.report) writeFileSync(values.report, `${JSON.stringify({ version, packages: rows, together }, null, 2)}\n`);

    if (!dryRun) {
      for (const { tarball, packed } of packedAll) {
        await npm(['publish', tarball, '--registry', values.registry, '--access', 'public'], ROOT);
        process.stdout.write(`published ${packed.name}@${packed.version}\n`);
      }
    }
  } finally {
    if (!values['work-dir'] && existsSync(work)) rmSync(work, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  release(process.argv.slice(2)).catch((error) => {
    const output = error.stderr ? `\n${String(error.stderr).trim()}` : '';
    process.stderr.write(`release: ${error.message}${output}\n`);
    process.exitCode = 1;
  });
}
