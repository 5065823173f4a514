#!/usr/bin/env node
// `npm run images`: builds the three images Outpost ships — outpost-api, outpost-worker and
// outpost-runner — with buildah, from local bases only (no image is pulled from any hub), after
// `npm run build` built the workspace on this machine. Prints one JSON line per image (name, size,
// build time) and, with --json FILE, writes them there too (the bench reads it). An image whose
// inputs (the staged context, its Dockerfile, its bases, version and revision) are those it was last
// built from is left as it is: its label says so (build-inputs.mjs), and buildah is not called.
//
//   npm run images                      # build (bases are built once per Node version)
//   npm run images -- --rebuild-bases   # rebuild the bases too
//   npm run images -- --no-cache        # and every layer (whole builds, as the benchmark measures)
//
// The bases are assembled from this machine's own files, in seconds: the node binary (Node 20) and
// the libraries it links, CA certificates, a `node` user (uid 1000); the worker's adds git, ssh and
// a shell with theirs. The build stage adds npm, which installs each image's production
// dependencies from the npm cache of this machine (the registry only for what the cache lacks).
import { execFileSync, spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir, userInfo } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildInputs, INPUTS_LABEL, treeDigest } from './build-inputs.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const args = process.argv.slice(2);
const rebuildBases = args.includes('--rebuild-bases');
// Builds every layer again (the benchmark measures whole builds).
const noCache = args.includes('--no-cache');
const jsonOut = args.includes('--json') ? args[args.indexOf('--json') + 1] : undefined;

const NODE_MAJOR = process.versions.node.split('.')[0];
const VERSION = JSON.parse(readFileSync(path.join(root, 'services/api/package.json'), 'utf8')).version;
const REGISTRY = 'localhost/outpost';
export const BASES = {
  node: `${REGISTRY}/base-node:${process.versions.node}`,
  build: `${REGISTRY}/base-build:${process.versions.node}`,
  worker: `${REGISTRY}/base-worker:${process.versions.node}`,
};
const REGISTRY_IMAGE = `${REGISTRY}/registry:latest`;
const IMAGES = [
  { name: 'outpost-api', file: 'api.Dockerfile', base: BASES.node },
  { name: 'outpost-worker', file: 'worker.Dockerfile', base: BASES.worker },
  { name: 'outpost-runner', file: 'runner.Dockerfile', base: BASES.node },
];

function fail(message) {
  console.error(`npm run images: ${message}`);
  process.exit(1);
}

function onPath(command) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, command)));
}

if (NODE_MAJOR !== '20')
  fail(`the images are Node 20 images and are built from this machine's node, which is ${process.version}`);
const missing = ['buildah', 'podman', 'runc'].filter((c) => !onPath(c));
if (missing.length > 0 || !onPath('catatonit'))
  fail(
    `needs Debian's podman, buildah, runc and catatonit — run \`apt-get install -y --no-install-recommends podman buildah runc catatonit\` as root, then npm run images again`,
  );
if (userInfo().uid !== 0) fail('builds images as root (podman and buildah with the runc runtime) — run it as root');
for (const dir of ['sdk/dist', 'services/api/dist', 'services/dashboard/dist', 'worker/dist', 'cli/dist'])
  if (!existsSync(path.join(root, dir))) fail(`${dir} is missing — run npm run build first (npm run images does)`);

/** containers.conf for every podman and buildah call of the project: runc, an init, explicit ulimits. */
export function containersConf() {
  const file = path.join(root, '.outpost/containers.conf');
  const hard = Number(execFileSync('sh', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).trim()) || 1024;
  const nofile = Math.min(hard, 65536);
  const nproc = 32768;
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    [
      '# Written by infra/docker/build-images.mjs: runc (crun refuses hybrid cgroup layouts), an init for',
      '# node as PID 1, and ulimits within what this machine allows.',
      '[containers]',
      `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
      'init = true',
      'init_path = "/usr/bin/catatonit"',
      '[engine]',
      'runtime = "runc"',
      '',
    ].join('\n'),
  );
  return file;
}

const env = { ...process.env, CONTAINERS_CONF: containersConf(), BUILDAH_FORMAT: 'oci' };

function run(command, argv, options = {}) {
  const result = spawnSync(command, argv, { env, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.status !== 0)
    fail(
      `\`${command} ${argv.slice(0, 3).join(' ')} …\` failed: ${(result.stderr || result.error?.message || '').trim().split('\n').slice(-3).join(' | ')}`,
    );
  return (result.stdout ?? '').trim();
}

function imageExists(name) {
  return spawnSync('podman', ['image', 'exists', name], { env }).status === 0;
}

/** The digest of what `name` was built from (its INPUTS_LABEL), or '' when there is no such image or label. */
function builtFrom(name) {
  const result = spawnSync('podman', ['image', 'inspect', '--format', `{{index .Labels "${INPUTS_LABEL}"}}`, name], {
    env,
    encoding: 'utf8',
  });
  return result.status === 0 ? result.stdout.trim() : '';
}

/** The shared libraries a binary loads, as ldd resolves them on this machine. */
function libraries(binary) {
  const out = execFileSync('ldd', [binary], { encoding: 'utf8' });
  const libs = new Set();
  for (const line of out.split('\n')) {
    const match = /=>\s+(\/\S+)/.exec(line) ?? /^\s+(\/\S+)\s+\(/.exec(line);
    if (match) libs.add(match[1]);
  }
  return [...libs];
}

function lexists(file) {
  try {
    lstatSync(file);
    return true;
  } catch {
    return false;
  }
}

/** Debian's merged /usr: /bin, /lib, /lib64 and /sbin are links into /usr, in the image too. */
function mergedUsr(into) {
  for (const dir of ['bin', 'lib', 'lib64', 'sbin']) {
    mkdirSync(path.join(into, 'usr', dir), { recursive: true });
    symlinkSync(`usr/${dir}`, path.join(into, dir));
  }
}

/** Copies a path into the root `into`, symlinks kept as links with their targets copied too. */
function copyIn(into, file) {
  const target = path.join(into, file);
  if (lexists(target)) return;
  mkdirSync(path.dirname(target), { recursive: true });
  const stat = lstatSync(file);
  if (stat.isSymbolicLink()) {
    symlinkSync(readlinkSync(file), target);
    copyIn(into, realpathSync(file));
  } else if (stat.isDirectory()) {
    cpSync(file, target, { recursive: true, dereference: false, verbatimSymlinks: true });
  } else {
    copyFileSync(file, target);
    chmodSync(target, stat.mode & 0o7777);
  }
}

function copyBinary(into, binary) {
  copyIn(into, binary);
  for (const lib of libraries(binary)) copyIn(into, lib);
}

/** A root filesystem of files from this machine, committed as an image with `buildah from scratch`. */
function commitRoot(
  name,
  fill,
  {
    from = 'scratch',
    user = 'node',
    labels = {},
    entrypoint,
    workdir = '/app',
    env = ['NODE_ENV=production', 'HOME=/home/node'],
  } = {},
) {
  const container = run('buildah', ['from', '--pull=never', from]);
  try {
    const mount = run('buildah', ['mount', container]);
    fill(mount);
    run('buildah', ['umount', container]);
    const config = ['config', '--user', user, '--workingdir', workdir, ...env.flatMap((e) => ['--env', e])];
    for (const [k, v] of Object.entries(labels)) config.push('--label', `${k}=${v}`);
    if (entrypoint) config.push('--entrypoint', JSON.stringify(entrypoint));
    run('buildah', [...config, container]);
    run('buildah', ['commit', '--rm', '--squash', container, name]);
  } catch (error) {
    spawnSync('buildah', ['rm', container], { env });
    throw error;
  }
}

function buildBases() {
  const labels = { 'org.opencontainers.image.description': 'Outpost base, assembled from the build machine' };
  commitRoot(
    BASES.node,
    (mnt) => {
      mergedUsr(mnt);
      // env: the #! line of the image's node scripts (outpost-pod-runner).
      for (const binary of ['/usr/bin/node', '/usr/bin/env']) copyBinary(mnt, binary);
      copyIn(mnt, '/lib64/ld-linux-x86-64.so.2');
      if (existsSync('/etc/ssl/certs/ca-certificates.crt')) copyIn(mnt, '/etc/ssl/certs/ca-certificates.crt');
      mkdirSync(path.join(mnt, 'etc'), { recursive: true });
      writeFileSync(
        path.join(mnt, 'etc/passwd'),
        'root:x:0:0:root:/root:/usr/sbin/nologin\nnode:x:1000:1000:node:/home/node:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n',
      );
      writeFileSync(path.join(mnt, 'etc/group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n');
      writeFileSync(path.join(mnt, 'etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
      for (const dir of ['tmp', 'app', 'home/node', 'root']) mkdirSync(path.join(mnt, dir), { recursive: true });
      chmodSync(path.join(mnt, 'tmp'), 0o1777);
      execFileSync('chown', ['1000:1000', path.join(mnt, 'home/node')]);
    },
    { labels },
  );
  commitRoot(
    BASES.build,
    (mnt) => {
      copyIn(mnt, '/usr/lib/node_modules/npm');
      symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(mnt, 'usr/bin/npm'));
    },
    {
      from: BASES.node,
      user: 'root',
      labels,
      // npm in the build stage trusts what this machine trusts (a registry mirror or proxy with a CA of its own).
      env: ['NODE_ENV=production', 'HOME=/root', 'NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt'],
    },
  );
  commitRoot(
    BASES.worker,
    (mnt) => {
      // git for git+https and git+ssh sources, ssh for the latter, a shell for what git runs.
      for (const binary of ['/usr/bin/git', '/usr/bin/ssh', '/bin/dash']) copyBinary(mnt, binary);
      copyIn(mnt, '/usr/lib/git-core');
      for (const helper of ['git-remote-http', 'git-remote-https'])
        if (existsSync(`/usr/lib/git-core/${helper}`)) copyBinary(mnt, `/usr/lib/git-core/${helper}`);
      copyIn(mnt, '/usr/share/git-core');
      copyIn(mnt, '/etc/ssl/certs/ca-certificates.crt');
      if (!lexists(path.join(mnt, 'usr/bin/sh'))) symlinkSync('dash', path.join(mnt, 'usr/bin/sh'));
      // Bundles and the spool live here; a volume mounted on it takes this owner.
      mkdirSync(path.join(mnt, 'home/node/.cache/outpost'), { recursive: true });
      execFileSync('chown', ['-R', '1000:1000', path.join(mnt, 'home/node/.cache')]);
    },
    { from: BASES.node, labels },
  );
}

/**
 * A local OCI registry for compose and the tests (the customer's registry): Debian's docker-registry
 * and its libraries, storing under /var/lib/registry, listening where REGISTRY_HTTP_ADDR says.
 */
function buildRegistry() {
  commitRoot(
    REGISTRY_IMAGE,
    (mnt) => {
      mergedUsr(mnt);
      copyBinary(mnt, '/usr/bin/docker-registry');
      copyIn(mnt, '/lib64/ld-linux-x86-64.so.2');
      mkdirSync(path.join(mnt, 'etc/docker/registry'), { recursive: true });
      writeFileSync(
        path.join(mnt, 'etc/docker/registry/config.yml'),
        [
          'version: 0.1',
          'log:',
          '  fields: { service: registry }',
          'storage:',
          '  filesystem: { rootdirectory: /var/lib/registry }',
          '  delete: { enabled: true }',
          'http:',
          '  addr: 127.0.0.1:5000',
          '',
        ].join('\n'),
      );
      writeFileSync(
        path.join(mnt, 'etc/passwd'),
        'root:x:0:0:root:/root:/usr/sbin/nologin\nregistry:x:1000:1000::/var/lib/registry:/usr/sbin/nologin\n',
      );
      writeFileSync(path.join(mnt, 'etc/group'), 'root:x:0:\nregistry:x:1000:\n');
      mkdirSync(path.join(mnt, 'var/lib/registry'), { recursive: true });
      mkdirSync(path.join(mnt, 'tmp'), { recursive: true });
      chmodSync(path.join(mnt, 'tmp'), 0o1777);
      execFileSync('chown', ['1000:1000', path.join(mnt, 'var/lib/registry')]);
    },
    {
      user: 'registry',
      workdir: '/var/lib/registry',
      env: [],
      labels: { 'org.opencontainers.image.description': "Debian's docker-registry, for local use and tests" },
      entrypoint: ['/usr/bin/docker-registry', 'serve', '/etc/docker/registry/config.yml'],
    },
  );
}

/** The build context: package manifests, the lockfile and what `npm run build` produced. */
function stageContext() {
  const context = path.join(root, '.outpost/images/context');
  rmSync(context, { recursive: true, force: true });
  mkdirSync(context, { recursive: true });
  const copy = (rel) => cpSync(path.join(root, rel), path.join(context, rel), { recursive: true });
  for (const rel of ['package.json', 'package-lock.json', 'infra/docker']) copy(rel);
  for (const ws of ['sdk', 'cli', 'services/api', 'services/dashboard', 'worker', 'test']) copy(`${ws}/package.json`);
  for (const rel of [
    'sdk/dist',
    'cli/dist',
    'cli/bin',
    'services/api/dist',
    'services/api/patches',
    'services/dashboard/dist',
    'services/dashboard/index.js',
    'worker/dist',
    'worker/bin',
  ])
    copy(rel);
  return context;
}

function gitSha() {
  const result = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  return result.status === 0 ? result.stdout.trim() : 'unknown';
}

const started = Date.now();
let basesSeconds = null;
if (rebuildBases || Object.values(BASES).some((b) => !imageExists(b))) {
  const t = Date.now();
  buildBases();
  basesSeconds = (Date.now() - t) / 1000;
  console.error(
    `npm run images: bases built from this machine's node ${process.version} in ${((Date.now() - t) / 1000).toFixed(1)} s`,
  );
}
if (onPath('docker-registry') && (rebuildBases || !imageExists(REGISTRY_IMAGE))) buildRegistry();
const context = stageContext();
const npmCache = path.join(homedir(), '.npm');
mkdirSync(npmCache, { recursive: true });
const sha = gitSha();
const results = [];
const inspect = (name, format) => run('podman', ['image', 'inspect', '--format', format, name]);
const sizeMB = (name) => Math.round(Number(inspect(name, '{{.Size}}')) / 1e5) / 10;
const contextDigest = treeDigest(context);
const baseIds = Object.fromEntries(Object.values(BASES).map((base) => [base, inspect(base, '{{.Id}}')]));
let unchanged = 0;
for (const image of IMAGES) {
  const tag = `${REGISTRY}/${image.name}:${VERSION}`;
  const t = Date.now();
  const inputs = buildInputs({
    context: contextDigest,
    dockerfile: image.file,
    base: baseIds[image.base],
    buildBase: baseIds[BASES.build],
    version: VERSION,
    revision: sha,
  });
  if (!noCache && builtFrom(tag) === inputs) {
    unchanged++;
    const result = { image: tag, sizeMB: sizeMB(tag), buildSeconds: 0, unchanged: true };
    results.push(result);
    console.log(JSON.stringify(result));
    continue;
  }
  run(
    'buildah',
    [
      'build',
      '--pull=never',
      noCache ? '--no-cache' : '--layers',
      '--network',
      'host',
      '--volume',
      `${npmCache}:/npm-cache`,
      '--build-arg',
      `BASE=${image.base}`,
      '--build-arg',
      `BUILD_BASE=${BASES.build}`,
      '--label',
      `org.opencontainers.image.version=${VERSION}`,
      '--label',
      `org.opencontainers.image.revision=${sha}`,
      '--label',
      `${INPUTS_LABEL}=${inputs}`,
      '-f',
      path.join(context, 'infra/docker', image.file),
      '-t',
      tag,
      context,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  const seconds = (Date.now() - t) / 1000;
  const result = { image: tag, sizeMB: sizeMB(tag), buildSeconds: Math.round(seconds * 10) / 10 };
  results.push(result);
  console.log(JSON.stringify(result));
}
if (jsonOut) {
  const baseNodeMB = sizeMB(BASES.node);
  const summary = { version: VERSION, gitSha: sha, bases: { seconds: basesSeconds, nodeSizeMB: baseNodeMB }, images: results };
  writeFileSync(jsonOut, `${JSON.stringify(summary, null, 2)}\n`);
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.error(
  unchanged === 0
    ? `npm run images: ${IMAGES.length} images built in ${seconds} s`
    : `npm run images: ${IMAGES.length - unchanged} of ${IMAGES.length} images built, ${unchanged} unchanged since their last build, in ${seconds} s`,
);
