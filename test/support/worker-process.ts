import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type OutpostClient, unwrap } from '@outpost/sdk/client';
import { type FlowRun, isTerminal, type StateType } from '@outpost/sdk/contracts';
import { repoRoot, watchOutput } from './processes.js';

export const workerMain = path.join(repoRoot, 'worker/dist/main.js');

export interface WorkerProcess {
  child: ChildProcess;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (drain) and wait; SIGKILL when it does not exit within `ms`. */
  stop(ms?: number): Promise<void>;
}

/** `outpost-worker start …` as a real process, with exactly the environment given (plus PATH). */
export function startWorkerProcess(args: string[], env: Record<string, string>): WorkerProcess {
  const child = spawn(process.execPath, [workerMain, 'start', ...args], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const { exited, output } = watchOutput(child);
  return {
    child,
    exited,
    output,
    async stop(ms = 30_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), ms);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * A worker of the default pool as the lifecycle suites start it, named `name`: a heartbeat, poll
 * wait and cancel grace of a second, logs sent every 100 ms, and a cache and spool of its own
 * (`cache-<name>`, `spool-<name>`) in `scratch`, which is also its HOME. `args` add to those flags.
 */
export function startNamedWorker(
  name: string,
  options: { apiUrl: string; key: string; scratch: string; args?: string[] },
): WorkerProcess {
  return startWorkerProcess(
    [
      '--pool',
      'default',
      '--name',
      name,
      '--heartbeat-interval',
      '1s',
      '--poll-wait',
      '1s',
      '--cancel-grace',
      '1s',
      ...(options.args ?? []),
    ],
    {
      OUTPOST_API_URL: options.apiUrl,
      OUTPOST_API_KEY: options.key,
      HOME: options.scratch,
      OUTPOST_WORKER_CACHE_DIR: path.join(options.scratch, `cache-${name}`),
      OUTPOST_WORKER_SPOOL_DIR: path.join(options.scratch, `spool-${name}`),
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '100ms',
    },
  );
}

/** Polls `condition` until it holds or `timeoutMs` passes; throws with `what` on timeout. */
export async function waitFor<T>(condition: () => T | Promise<T>, timeoutMs: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** True while a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Polls the run until it has ended, whichever way; `what` names the wait when it times out. */
export async function runSettled(
  owner: OutpostClient,
  runId: string,
  timeoutMs: number,
  what = `run ${runId} to finish`,
): Promise<FlowRun> {
  return waitFor(
    async () => {
      const run = unwrap(await owner.call('flowRunsGet', { params: { id: runId } }));
      return isTerminal(run.state.type) ? run : null;
    },
    timeoutMs,
    what,
  );
}

/**
 * Waits until the run is in state `type`, and fails at once when it ends in another: either failure
 * carries what `workers` printed.
 */
export async function runInState(
  owner: OutpostClient,
  runId: string,
  type: StateType,
  what: string,
  options: { workers: readonly WorkerProcess[]; timeoutMs: number },
): Promise<FlowRun> {
  const output = () => options.workers.map((w) => w.output()).join('\n----\n');
  return waitFor(
    async () => {
      const run = unwrap(await owner.call('flowRunsGet', { params: { id: runId } }));
      if (run.state.type === type) return run;
      if (isTerminal(run.state.type)) throw new Error(`run ${runId} ended ${run.state.type}: ${run.state.message}\n${output()}`);
      return null;
    },
    options.timeoutMs,
    `${what}\n${output()}`,
  );
}

/**
 * A test worker's API, key and folders: its home is `home`, and its cache and spool are folders in
 * it, `cache` and `spool`, or `cache-<name>` and `spool-<name>` for one of several workers sharing it.
 */
export function workerEnv(api: { url: string; key: string }, home: string, name?: string): Record<string, string> {
  const suffix = name ? `-${name}` : '';
  return {
    OUTPOST_API_URL: api.url,
    OUTPOST_API_KEY: api.key,
    HOME: home,
    OUTPOST_WORKER_CACHE_DIR: path.join(home, `cache${suffix}`),
    OUTPOST_WORKER_SPOOL_DIR: path.join(home, `spool${suffix}`),
  };
}
