#!/usr/bin/env node
// Run by `npm test` before the suites: the Kubernetes e2e suites start a real control plane
// (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl v1.20.2 over etcd) built from
// Debian's source package. It is compiled once per machine and cached; this prints one line saying
// which. As an ordinary user without the build's Debian packages it prints the one command that
// installs them and exits 1. No suite skips instead.
//
// `--background` (what `npm test` passes) starts the build and returns at once: it runs at the lowest
// CPU priority beside the other suites, taking the time they leave idle, and the Kubernetes suites,
// which run last, wait for it (cluster.ts, awaitBackgroundBuild). It writes `build.pid` while it runs
// and `build.status` (its exit code) when it ends, both in the cache directory.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
const statusPath = path.join(cache, 'build.status');
const pidPath = path.join(cache, 'build.pid');

/** True while a background build this script started is still running. */
function building() {
  try {
    process.kill(Number(readFileSync(pidPath, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

if (process.argv.includes('--background')) {
  if (building()) {
    console.error(`npm test: the Kubernetes control plane is being built in the background already; log in ${logPath}`);
    process.exit(0);
  }
  rmSync(statusPath, { force: true });
  // The suites beside it keep the CPU whenever they want it. Its own session (detached) is its own
  // scheduling autogroup on Linux, and autogroups share the CPU equally whatever their processes'
  // nice values: so the group's nice is raised as well as the processes' (sched(7), "autogroup").
  const lowest = 'echo 19 > /proc/self/autogroup 2>/dev/null; nice -n 19';
  const child = spawn(
    'sh',
    [
      '-c',
      `${lowest} "$0" build > "$1" 2>&1; echo $? > "$2.partial" && mv "$2.partial" "$2"; rm -f "$3"`,
      script,
      logPath,
      statusPath,
      pidPath,
    ],
    { detached: true, stdio: 'ignore' },
  );
  writeFileSync(pidPath, String(child.pid));
  child.unref();
  console.error(
    `npm test: building the Kubernetes control plane v1.20.2 for the e2e suites once for this machine, in the background at low priority (~5 min of CPU); the Kubernetes suites wait for it; log in ${logPath}`,
  );
  process.exit(0);
}

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
