import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StateProposalResponse } from '@outpost/sdk/contracts';
import type { RunnerToWorkerMessage, StartMessage } from '@outpost/sdk/runtime';
import { percentile, type Row, row } from './support/row.js';

/**
 * What wrapping a function in `task()` costs per call, next to the same function called bare in
 * the same process and run: outside any flow; inside a flow run locally; inside a flow reporting to
 * a worker over an in-process channel (the runtime's own work: ids, states, scopes); and inside a
 * flow process reporting over a real IPC channel to this process acting as the worker (two events
 * per call, the task run created RUNNING, then COMPLETED, neither waited for). Also a cache hit from directory
 * storage (a file read, a sha256 of the arguments, no body run), and
 * `task.map` per item. Each figure is the median of several rounds of sequential awaited calls.
 */
export const timeoutSeconds = 180;

// Cache hits log one info line each; a benchmark of thousands of calls times the runtime, not the terminal.
process.env.OUTPOST_LOG_LEVEL = 'warning';
const { directoryResultStorage, flow, task } = await import('@outpost/sdk');
const { flowRegistry } = await import('@outpost/sdk/runtime');

const ROUNDS = 5;
const LOCAL_CALLS = 20_000;
const REPORTED_CALLS = 5_000;
const IPC_CALLS = 2_000;
const MAP_ITEMS = 2_000;

const inc = async (n: number) => n + 1;

async function perCall(calls: number, fn: (i: number) => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < calls; i++) await fn(i);
  return ((performance.now() - started) / calls) * 1000;
}

/** Median µs per call of `fn` and of the bare function, rounds interleaved so drift hits both alike. */
async function compare(calls: number, fn: (i: number) => Promise<unknown>): Promise<{ value: number; baseline: number }> {
  for (let i = 0; i < 200; i++) {
    await inc(i);
    await fn(i);
  }
  const values: number[] = [];
  const baselines: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    baselines.push(await perCall(calls, inc));
    values.push(await perCall(calls, fn));
  }
  return { value: percentile(values, 50), baseline: percentile(baselines, 50) };
}

function accept(state: { type: StateProposalResponse['state']['type'] }): StateProposalResponse {
  return {
    status: 'ACCEPT',
    reason: null,
    waitSeconds: null,
    attempt: 1,
    state: { type: state.type, name: state.type, message: null, timestamp: new Date().toISOString(), data: null },
  };
}

/** The worker's answer to one rpc, without an API behind it. */
function answer(message: RunnerToWorkerMessage): unknown {
  if (message.t !== 'rpc') return null;
  const result = message.method === 'setState' ? accept(message.body.state) : {};
  return { t: 'reply', id: message.id, ok: true, result };
}

function startMessage(flowName: string): StartMessage {
  return {
    t: 'start',
    run: { id: randomUUID(), attempt: 1, name: 'bench', flowName, deploymentId: null, parameters: {} },
    entry: '/bench',
  };
}

/** The worker's end of the channel in this process: every rpc answered on the next microtask. */
class InProcessWorker extends EventEmitter {
  send = (message: unknown, callback: (error: Error | null) => void): boolean => {
    queueMicrotask(() => callback(null));
    const reply = answer(message as RunnerToWorkerMessage);
    if (reply) queueMicrotask(() => this.emit('message', reply));
    return true;
  };
}

async function inProcessReporter(): Promise<{ value: number; baseline: number }> {
  const incTask = task('inc-reported', inc);
  let measured: { value: number; baseline: number } | null = null;
  flow({ name: 'task-overhead-in-process' }, async () => {
    measured = await compare(REPORTED_CALLS, incTask);
  });
  await flowRegistry().get('task-overhead-in-process')?.execute(startMessage('task-overhead-in-process'), new InProcessWorker());
  if (!measured) throw new Error('the in-process flow did not report its timings');
  return measured;
}

/** A real flow process, answered over IPC by this process the way the worker answers it. */
async function ipcReporter(): Promise<{ value: number; baseline: number; rpcs: number; events: number }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL('./support/task-overhead-child.mjs', import.meta.url))], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'json',
    env: { ...process.env, BENCH_CALLS: String(IPC_CALLS), BENCH_ROUNDS: String(ROUNDS) },
  });
  let rpcs = 0;
  let events = 0;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const timings = new Promise<{ bare: number[]; tasked: number[] }>((resolve, reject) => {
    child.on('message', (message: RunnerToWorkerMessage | { t: 'bench'; bare: number[]; tasked: number[] }) => {
      if (message.t === 'ready') child.send(startMessage('task-overhead-ipc'));
      else if (message.t === 'bench') resolve(message);
      else if (message.t === 'task') events++;
      else if (message.t === 'rpc') {
        rpcs++;
        child.send(answer(message) as object);
      }
    });
    void exited.then((code) => reject(new Error(`the flow process exited (${code}) before reporting its timings`)));
  });
  try {
    const { bare, tasked } = await timings;
    const callsMade = 200 + IPC_CALLS * ROUNDS;
    return {
      value: percentile(tasked, 50) * 1000,
      baseline: percentile(bare, 50) * 1000,
      rpcs: rpcs / callsMade,
      events: events / callsMade,
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  }
}

export async function run(): Promise<Row[]> {
  const rows: Row[] = [];
  const bareNote = 'the same async function called bare, same process, rounds interleaved';

  const plain = task('inc-plain', inc);
  const outside = await compare(LOCAL_CALLS, plain);
  rows.push(row('task call outside a flow', outside.value, 'µs/call', outside.baseline, bareNote));

  const local = task('inc-local', inc);
  let inLocalFlow: { value: number; baseline: number } | null = null;
  const localFlow = flow({ name: 'task-overhead-local' }, async () => {
    inLocalFlow = await compare(LOCAL_CALLS, local);
  });
  await localFlow();
  if (inLocalFlow) {
    const { value, baseline } = inLocalFlow;
    rows.push(row('task call in a flow run locally', value, 'µs/call', baseline, bareNote));
  }

  const reported = await inProcessReporter();
  rows.push(row('task call reported over an in-process channel', reported.value, 'µs/call', reported.baseline, bareNote));

  const ipc = await ipcReporter();
  rows.push(
    row(
      `task call reported over IPC to a worker process (${ipc.events.toFixed(0)} events sent, ${ipc.rpcs.toFixed(0)} round trips)`,
      ipc.value,
      'µs/call',
      ipc.baseline,
      'the same async function called bare inside the same flow process',
    ),
  );

  const dir = await mkdtemp(join(tmpdir(), 'outpost-bench-cache-'));
  try {
    const cached = task({ name: 'inc-cached', cache: true, resultStorage: directoryResultStorage(dir) }, inc);
    for (let i = 0; i < 100; i++) await cached(i);
    const hit = await compare(2_000, (i) => cached(i % 100));
    rows.push(row('cached task call, hit in directory storage', hit.value, 'µs/call', hit.baseline, bareNote));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }

  const mapped = task('inc-mapped', inc);
  const items = Array.from({ length: MAP_ITEMS }, (_, i) => i);
  const mapTimes: number[] = [];
  const loopTimes: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let started = performance.now();
    await Promise.all(items.map(inc));
    loopTimes.push(((performance.now() - started) / MAP_ITEMS) * 1000);
    started = performance.now();
    await mapped.map(items, { concurrency: 8 });
    mapTimes.push(((performance.now() - started) / MAP_ITEMS) * 1000);
  }
  rows.push(
    row(
      `task.map over ${MAP_ITEMS} items, concurrency 8`,
      percentile(mapTimes, 50),
      'µs/item',
      percentile(loopTimes, 50),
      'Promise.all over the bare function',
    ),
  );
  return rows;
}
