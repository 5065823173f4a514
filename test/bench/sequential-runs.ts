import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { type FlowRun, isTerminal, routes, servedPath } from '@outpost/sdk/contracts';
import { startBenchWorker } from './support/bench-worker.js';
import { cliInProject, writeFlowProject } from './support/flow-project.js';
import { pause, percentile, type Row, row, waitFor } from './support/row.js';

/**
 * 40 light runs one after another, end to end as a client sees them: each is created through the
 * API only after the previous one's COMPLETED arrived on the flow-run event stream (one stream open
 * for the pass, as a dashboard or `outpost run --watch` has), and each runs in a flow process the
 * real worker process starts for it (`--prestart 0`: process start included). A second pass uses
 * the worker's default of keeping two flow processes started ahead, a third warm starts (`--warm 2`:
 * a process with the deployment's code already imported). Baseline: 40 sequential `node -e 0`
 * process starts.
 */
export const timeoutSeconds = 300;

const RUNS = 40;
/** How long one run may take to end before the pass fails. */
const RUN_TIMEOUT_MS = 30_000;

const ABOUT = `Each run's end is taken from the flow-run event stream (\`GET /flow-runs/events\`, one
stream open for the whole pass): the next run is created when the previous one's COMPLETED event
arrives, as a client watching the run would see it, not by polling the run. The last row is the
time from the start of the transaction that ended a run (its state's timestamp, read from
Postgres's clock at 1 ms resolution) to that run's event reaching the client: commit, NOTIFY, the
API's re-read of the run and the write to the stream.

### External reference: the same shape elsewhere (not measured here)

Windmill's public benchmark (https://www.windmill.dev/docs/misc/benchmarks/competitors) ran one flow
of 40 lightweight tasks (Python \`fibo(10)\`, each started after the previous finished) on an AWS
m4.large (2 vCPU). Its published totals: **Hatchet 1.22 s, Temporal 2.97 s, Prefect 4.87 s**.
Those are tasks inside one workflow on their own machines and engines; the rows above are 40
separate runs, each in a fresh (or pre-started) Node process, on the machine described above.
The figures are quoted for orientation only and were not reproduced here.`;

/** ABOUT, and once run() has measured, the phase table of each pass (see phasesOf). */
export let notes = ABOUT;

const CONFIG = `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'bench-light',
  registry: process.env.OUTPOST_REGISTRY ?? 'oci-layout:./registry',
  deployments: [{ flow: 'light', name: 'default', entrypoint: 'flows/light.ts', pool: 'default' }],
});
`;
// One light task, like the fibo(10) tasks of the external reference.
const FLOW = `import { flow, task } from '@outpost/sdk';
const fibo = (n: number): number => (n <= 1 ? n : fibo(n - 1) + fibo(n - 2));
const compute = task('fibo', (n: number) => fibo(n));
export const light = flow({ name: 'light' }, async () => compute(10));
`;

/**
 * The workspace's flow-run event stream, read as a client reads it: `ended(id)` resolves with a
 * run's state once an event shows it terminal (events that came before the call count too).
 */
class RunEnds {
  readonly #ends = new Map<string, FlowRun['state']>();
  /** Per run ended: ms from the transaction that ended it (its state's timestamp) to its event here. */
  readonly lags: number[] = [];
  readonly #waiters = new Map<string, (state: FlowRun['state']) => void>();
  readonly #abort = new AbortController();
  #failure: Error | null = null;
  #onFailure: ((error: Error) => void) | null = null;

  private constructor() {}

  /** Opens the stream and resolves once the server says it is connected. */
  static async open(client: OutpostClient, token: string): Promise<RunEnds> {
    const ends = new RunEnds();
    const res = await fetch(`${client.baseUrl}${servedPath(routes.flowRunsEvents)}`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
      signal: ends.#abort.signal,
    });
    if (!res.ok || !res.body) throw new Error(`the flow-run event stream answered ${res.status}`);
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let connected!: () => void;
    const ready = new Promise<void>((resolve) => {
      connected = resolve;
    });
    void (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += value;
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (block.includes(': connected')) connected();
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trimStart());
            if (data.length > 0) ends.#take(JSON.parse(data.join('\n')) as FlowRun);
          }
        }
        ends.#fail(new Error('the flow-run event stream ended'));
      } catch (error) {
        ends.#fail(error as Error);
      }
      connected();
    })();
    await ready;
    if (ends.#failure) throw ends.#failure;
    return ends;
  }

  #take(run: FlowRun): void {
    if (!isTerminal(run.state.type)) return;
    this.lags.push(Date.now() - Date.parse(run.state.timestamp));
    this.#ends.set(run.id, run.state);
    this.#waiters.get(run.id)?.(run.state);
  }

  #fail(error: Error): void {
    if (this.#abort.signal.aborted) return;
    this.#failure = error;
    this.#onFailure?.(error);
  }

  ended(runId: string, timeoutMs: number): Promise<FlowRun['state']> {
    return new Promise((resolve, reject) => {
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(runId);
        this.#onFailure = null;
        settle();
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`no end of run ${runId} on the event stream within ${timeoutMs} ms`))),
        timeoutMs,
      );
      this.#waiters.set(runId, (state) => finish(() => resolve(state)));
      this.#onFailure = (error) => finish(() => reject(error));
      const known = this.#ends.get(runId);
      if (known) finish(() => resolve(known));
      else if (this.#failure) finish(() => reject(this.#failure));
    });
  }

  close(): void {
    this.#abort.abort();
  }
}

/** One timed run on the client's clock (epoch ms): when its create call went out, and when its end arrived. */
interface Timed {
  id: string;
  sent: number;
  ended: number;
}

/** Creates a run, waits for its end on the event stream and throws unless it COMPLETED. */
async function runOnce(client: OutpostClient, ends: RunEnds, deploymentId: string): Promise<Timed> {
  const sent = Date.now();
  const { flowRun } = unwrap(await client.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
  const state = await ends.ended(flowRun.id, RUN_TIMEOUT_MS);
  if (state.type !== 'COMPLETED') throw new Error(`run ${flowRun.id} ended ${state.type}: ${state.message ?? ''}`);
  return { id: flowRun.id, sent, ended: Date.now() };
}

interface Pass {
  seconds: number;
  /** p50 of the lags of the timed runs' ends (RunEnds.lags). */
  lagP50: number;
  /** Per phase of a run, its p50 over the timed runs (Phases). */
  phases: Record<Phase, number>;
}

const PHASES = {
  create: 'create call sent → run created (its SCHEDULED state)',
  dispatch: 'created → claimed (PENDING)',
  handOver: 'claimed → RUNNING',
  execute: 'RUNNING → COMPLETED (the flow, its task, its logs and the COMPLETED proposal)',
  notify: 'COMPLETED → its event at the client',
} as const;
type Phase = keyof typeof PHASES;

/**
 * Where each timed run's time went, from its state history (the database's clock) and the client's
 * two moments (the same machine's clock): the p50 of each phase.
 */
async function phasesOf(server: TestServer, timed: Timed[]): Promise<Record<Phase, number>> {
  const states = await server.sql<{ id: string; type: string; at: number }[]>`
    SELECT flow_run_id AS id, type, extract(epoch FROM timestamp) * 1000 AS at
    FROM flow_run_states WHERE flow_run_id = ANY(${timed.map((t) => t.id)}::uuid[])`;
  const at = new Map<string, Map<string, number>>();
  for (const s of states) {
    if (!at.has(s.id)) at.set(s.id, new Map());
    at.get(s.id)?.set(s.type, Number(s.at));
  }
  const spans: Record<Phase, number[]> = { create: [], dispatch: [], handOver: [], execute: [], notify: [] };
  for (const t of timed) {
    const run = at.get(t.id);
    const [scheduled, pending, running, completed] = ['SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED'].map((type) =>
      run?.get(type),
    );
    if (scheduled === undefined || pending === undefined || running === undefined || completed === undefined)
      throw new Error(`run ${t.id} lacks a state of its history`);
    spans.create.push(scheduled - t.sent);
    spans.dispatch.push(pending - scheduled);
    spans.handOver.push(running - pending);
    spans.execute.push(completed - running);
    spans.notify.push(t.ended - completed);
  }
  return Object.fromEntries(Object.entries(spans).map(([phase, values]) => [phase, percentile(values, 50)])) as Record<
    Phase,
    number
  >;
}

async function sequentialRuns(
  server: TestServer,
  scratch: string,
  deploymentId: string,
  prestart: number,
  warm = 0,
): Promise<Pass> {
  const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const ends = await RunEnds.open(client, server.ownerKey);
  const worker = startBenchWorker(
    server,
    await server.createKey('worker', ['default']),
    join(scratch, `worker-${prestart}-${warm}`),
    prestart,
    ['--warm', String(warm)],
  );
  try {
    await waitFor('the worker to come online', async () => {
      const { items } = unwrap(await client.call('workersList', { params: { pool: 'default' } }));
      return items.some((w) => w.status === 'ONLINE') ? true : undefined;
    });
    // Not counted: the first run pulls the bundle into the worker's cache, once per digest.
    await runOnce(client, ends, deploymentId);
    // Pre-started processes replace the one the warm-up used; let them start before timing.
    if (prestart > 0) await pause(2000);
    ends.lags.length = 0;
    const timed: Timed[] = [];
    const started = performance.now();
    for (let i = 0; i < RUNS; i++) timed.push(await runOnce(client, ends, deploymentId));
    const seconds = (performance.now() - started) / 1000;
    return { seconds, lagP50: percentile(ends.lags, 50), phases: await phasesOf(server, timed) };
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker output:\n${worker.output().slice(-3000)}`, { cause: error });
  } finally {
    ends.close();
    await worker.stop('SIGTERM');
    await client.close();
  }
}

async function bareProcessStarts(): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < RUNS; i++) {
    const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
    const [code] = (await once(child, 'exit')) as [number | null];
    if (code !== 0) throw new Error(`node -e 0 exited ${code}`);
  }
  return (performance.now() - started) / 1000;
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer();
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-bench-seq-'));
  try {
    const { project, env } = await writeFlowProject(server, scratch, CONFIG, { 'light.ts': FLOW });
    await cliInProject(['deploy'], env, project);
    const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    const deployment = await client
      .call('deploymentsGetByName', { params: { flow: 'light', name: 'default' } })
      .then(unwrap)
      .finally(() => client.close());

    const cold = await sequentialRuns(server, scratch, deployment.id, 0);
    const pooled = await sequentialRuns(server, scratch, deployment.id, 2);
    const warm = await sequentialRuns(server, scratch, deployment.id, 2, 2);
    const bare = await bareProcessStarts();
    const note = `${RUNS} sequential \`node -e 0\` process starts (${dirname(process.execPath)}/node ${process.version})`;
    notes = [
      ABOUT,
      '',
      `### sequential-runs: where a run's time goes (p50 of each phase over the ${RUNS} timed runs of a pass, ms)`,
      "States' times are the database's clock, the client's moments the same machine's; a run's phases add up to",
      'roughly its share of the pass (the p50s of the phases need not add up to the p50 of the whole).',
      '',
      '| phase | process start included | 2 pre-started | warm |',
      '| --- | ---: | ---: | ---: |',
      ...(Object.keys(PHASES) as Phase[]).map(
        (phase) =>
          `| ${PHASES[phase]} | ${cold.phases[phase].toFixed(1)} | ${pooled.phases[phase].toFixed(1)} | ${warm.phases[phase].toFixed(1)} |`,
      ),
      `| a run, all told (the pass over ${RUNS}) | ${((cold.seconds * 1000) / RUNS).toFixed(1)} | ${((pooled.seconds * 1000) / RUNS).toFixed(1)} | ${((warm.seconds * 1000) / RUNS).toFixed(1)} |`,
    ].join('\n');
    return [
      row(`${RUNS} sequential light runs, process start included`, cold.seconds, 's', bare, note),
      row(`${RUNS} sequential light runs, 2 flow processes pre-started (default)`, pooled.seconds, 's', bare, note),
      row(`${RUNS} sequential light runs, warm starts (\`--warm 2\`)`, warm.seconds, 's', bare, note),
      row(`a run's end → its event on the stream, p50 (the ${RUNS} default-pass runs)`, pooled.lagP50, 'ms', null),
    ];
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
