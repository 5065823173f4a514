import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createTestDatabase } from '@outpost/api/testing';
import { OutpostClient } from '@outpost/sdk/client';
import { Agent } from 'undici';
import { pause, type Row, row } from './support/row.js';

/**
 * What the API costs while workers wait: its CPU time and memory with 200 long-polling claimers
 * connected for 20 s, against the same API with none. The API runs as a child process (its own
 * `process.cpuUsage()`), with its background loops on; the claimers here use the SDK client and the
 * worker's default poll wait (25 s), re-polling as soon as a poll returns, as workers do. Each
 * claimer's first wait is a random part of that, so the re-polls spread over time as those of
 * independently started workers would, and the window sees its share of them (about 160).
 */
export const timeoutSeconds = 180;

const CLAIMERS = 200;
const WINDOW_MS = 20_000;
const SETTLE_MS = 3_000;
const POLL_WAIT_MS = 25_000;

interface Sample {
  cpu: NodeJS.CpuUsage;
  rss: number;
  heapUsed: number;
  at: number;
}

function startApi(databaseUrl: string): Promise<{ child: ChildProcess; url: string; workerKey: string }> {
  const child = fork(fileURLToPath(new URL('./support/idle-api.mjs', import.meta.url)), [], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: [],
  });
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the API process exited (${code}) before it was ready`));
    child.once('exit', onExit);
    child.once('message', (message: { type: string; url: string; workerKey: string }) => {
      child.off('exit', onExit);
      resolve({ child, url: message.url, workerKey: message.workerKey });
    });
  });
}

function sample(child: ChildProcess): Promise<Sample> {
  return new Promise((resolve) => {
    child.once('message', (message: Sample & { type: string }) => resolve(message));
    child.send('sample');
  });
}

/** CPU time over the window as a percentage of one core, and memory at its end. */
async function measureWindow(child: ChildProcess): Promise<{ cpuPercent: number; rssMiB: number; heapMiB: number }> {
  const first = await sample(child);
  await pause(WINDOW_MS);
  const last = await sample(child);
  const cpuMs = (last.cpu.user - first.cpu.user + last.cpu.system - first.cpu.system) / 1000;
  return { cpuPercent: (cpuMs / (last.at - first.at)) * 100, rssMiB: last.rss / 1024 ** 2, heapMiB: last.heapUsed / 1024 ** 2 };
}

export async function run(): Promise<Row[]> {
  const db = await createTestDatabase();
  let api: Awaited<ReturnType<typeof startApi>> | null = null;
  const agent = new Agent({ connections: CLAIMERS + 10, keepAliveTimeout: 60_000 });
  const stop = new AbortController();
  const claimers: Promise<void>[] = [];
  let polls = 0;
  let pollsBefore = 0;
  try {
    api = await startApi(db.url);
    await pause(SETTLE_MS);
    const idle = await measureWindow(api.child);

    const client = new OutpostClient({ baseUrl: api.url, token: api.workerKey, dispatcher: agent });
    for (let i = 0; i < CLAIMERS; i++) {
      const workerId = randomUUID();
      claimers.push(
        (async () => {
          let waitMs = Math.floor(Math.random() * POLL_WAIT_MS);
          while (!stop.signal.aborted) {
            const result = await client.call(
              'claim',
              { params: { pool: 'default' }, body: { workerId, limit: 1, waitMs } },
              { signal: stop.signal },
            );
            if (!result.ok && !stop.signal.aborted) throw new Error(`claim failed: ${JSON.stringify(result)}`);
            polls++;
            waitMs = POLL_WAIT_MS;
          }
        })(),
      );
    }
    await pause(SETTLE_MS);
    pollsBefore = polls;
    const busy = await measureWindow(api.child);
    const repolls = polls - pollsBefore;
    const note = `the same API process with no claimer connected, over the same ${WINDOW_MS / 1000} s window (${repolls} polls returned and were renewed in the loaded window)`;
    return [
      row(`idle API CPU, ${CLAIMERS} long-polling claimers`, busy.cpuPercent, '% of a core', idle.cpuPercent, note),
      row(`idle API RSS, ${CLAIMERS} long-polling claimers`, busy.rssMiB, 'MiB', idle.rssMiB, note),
      row(`idle API heap, ${CLAIMERS} long-polling claimers`, busy.heapMiB, 'MiB', idle.heapMiB, note),
    ];
  } finally {
    stop.abort();
    await Promise.allSettled(claimers);
    await agent.close();
    if (api) {
      const exited = once(api.child, 'exit');
      if (api.child.connected) api.child.send('stop');
      else api.child.kill('SIGTERM');
      const timer = setTimeout(() => api?.child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    }
    await db.drop();
  }
}
