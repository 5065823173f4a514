#!/usr/bin/env node
// Run by `npm test` before anything else. The suites use real parts from Debian's packages: an OCI
// registry (the customer's registry), htpasswd for its basic auth, git and openssl for git sources
// over HTTPS, unzip for the helm and kubectl binaries an npm package ships zipped, podman, buildah,
// runc, catatonit and docker-compose to build the images and run them (infra/compose.yaml), and
// Chromium for the dashboard's browser tests. Root installs what is missing with apt-get; anyone else is told,
// in one line, the command that installs it. No suite skips instead.
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { userInfo } from 'node:os';

/** Debian package → how to tell it is installed. */
const PACKAGES = [
  { pkg: 'docker-registry', present: () => onPath('docker-registry') },
  { pkg: 'apache2-utils', present: () => onPath('htpasswd') },
  { pkg: 'git', present: () => onPath('git') },
  { pkg: 'openssl', present: () => onPath('openssl') },
  { pkg: 'unzip', present: () => onPath('unzip') },
  { pkg: 'podman', present: () => onPath('podman') },
  { pkg: 'buildah', present: () => onPath('buildah') },
  { pkg: 'runc', present: () => onPath('runc') },
  { pkg: 'catatonit', present: () => onPath('catatonit') },
  { pkg: 'docker-compose', present: () => onPath('docker-compose') },
  { pkg: 'chromium', present: () => executable('/usr/bin/chromium') },
];

function executable(path) {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(command) {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && executable(`${dir}/${command}`));
}

const missing = PACKAGES.filter((p) => !p.present()).map((p) => p.pkg);
if (missing.length === 0) process.exit(0);

const list = missing.join(' ');
if (!onPath('apt-get')) {
  console.error(
    `npm test needs these Debian packages (or your system's equivalents): ${list} — install them, then run npm test again`,
  );
  process.exit(1);
}
if (userInfo().uid !== 0) {
  console.error(
    `npm test needs Debian packages it cannot install as this user: ${list} — run \`sudo apt-get install -y --no-install-recommends ${list}\`, then npm test again`,
  );
  process.exit(1);
}

console.error(`npm test: installing Debian packages the suites use as real parts: ${list}`);
const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
for (const args of [
  ['update', '-qq'],
  ['install', '-y', '-qq', '--no-install-recommends', ...missing],
]) {
  const result = spawnSync('apt-get', args, { stdio: ['ignore', 'ignore', 'inherit'], env });
  if (result.status !== 0) {
    console.error(`npm test: \`apt-get ${args.join(' ')}\` failed — install ${list} yourself, then run npm test again`);
    process.exit(1);
  }
}
const still = PACKAGES.filter((p) => missing.includes(p.pkg) && !p.present()).map((p) => p.pkg);
if (still.length > 0) {
  console.error(
    `npm test: ${still.join(' ')} installed but not found where expected — check the packages, then run npm test again`,
  );
  process.exit(1);
}
