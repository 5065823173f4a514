#!/usr/bin/env node
// Run by `npm test` before the suites: the Kubernetes e2e suites start a real control plane
// (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v1.20.2 over etcd) built from
// Debian's source package. It is compiled once per machine and cached; this prints one line saying
// which. As an ordinary user without the build's Debian packages it prints the one command that
// installs them and exits 1. No suite skips instead.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'control-plane.sh');
const cache =
  process.env.OUTPOST_KUBE_CACHE ?? path.join(process.env.XDG_CACHE_HOME || path.join(homedir(), '.cache'), 'outpost-kube');

if (spawnSync(script, ['built'], { stdio: 'ignore' }).status === 0) {
  console.error(`npm test: Kubernetes control plane v1.20.2 for the e2e suites is built (cached in ${cache}/bin)`);
  process.exit(0);
}

const check = spawnSync(script, ['can_build'], { encoding: 'utf8' });
if (check.status !== 0) {
  console.error(`npm test: ${check.stderr.trim().split('\n').pop()}`);
  process.exit(1);
}

mkdirSync(cache, { recursive: true });
const logPath = path.join(cache, 'build.log');
console.error(
  `npm test: building the Kubernetes control plane v1.20.2 for the e2e suites once for this machine (~5 min), log in ${logPath}`,
);
const log = createWriteStream(logPath);
const child = spawn(script, ['build'], { stdio: ['ignore', 'pipe', 'pipe'] });
let lastError = '';
child.stdout.pipe(log, { end: false });
child.stderr.on('data', (chunk) => {
  log.write(chunk);
  const lines = chunk.toString('utf8').trim().split('\n');
  lastError = lines[lines.length - 1] ?? lastError;
});
child.on('close', (code) => {
  log.end();
  if (code === 0) process.exit(0);
  console.error(`npm test: the Kubernetes control plane build failed (${lastError}) — see ${logPath}`);
  process.exit(1);
});
