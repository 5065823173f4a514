import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { isTerminal } from '@outpost/sdk/contracts';
import { repoRoot, runCli } from '../support/processes.js';
import { startBenchWorker } from './support/bench-worker.js';
import { pause, type Row, row, waitFor } from './support/row.js';

/**
 * 40 light runs one after another, end to end: each is created through the API only after the
 * previous one COMPLETED, and each runs in a flow process the real worker process starts for it
 * (`--prestart 0`: process start included). A second pass uses the worker's default of keeping
 * two flow processes started ahead. Baseline: 40 sequential `node -e 0` process starts.
 */
export const timeoutSeconds = 300;

const RUNS = 40;
const POLL_MS = 10;

export const notes = `### External reference: the same shape elsewhere (not measured here)

Windmill's public benchmark (https://www.windmill.dev/docs/misc/benchmarks/competitors) ran one flow
of 40 lightweight tasks (Python \`fibo(10)\`, each started after the previous finished) on an AWS
m4.large (2 vCPU). Its published totals: **Hatchet 1.22 s, Temporal 2.97 s, Prefect 4.87 s**.
Those are tasks inside one workflow on their own machines and engines; the rows above are 40
separate runs, each in a fresh (or pre-started) Node process, on the machine described above.
The figures are quoted for orientation only and were not reproduced here.`;

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

async function makeProject(dir: string): Promise<void> {
  await mkdir(join(dir, 'flows'), { recursive: true });
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'), 'dir');
  await writeFile(join(dir, 'package.json'), '{ "type": "module" }\n');
  await writeFile(join(dir, 'outpost.config.ts'), CONFIG);
  await writeFile(join(dir, 'flows', 'light.ts'), FLOW);
}

/** Creates a run, waits for it to finish and throws unless it COMPLETED; returns its id. */
async function runOnce(client: OutpostClient, deploymentId: string): Promise<void> {
  const { flowRun } = unwrap(await client.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
  const state = await waitFor(
    `run ${flowRun.id} to finish`,
    async () => {
      const run = unwrap(await client.call('flowRunsGet', { params: { id: flowRun.id } }));
      return isTerminal(run.state.type) ? run.state : undefined;
    },
    30_000,
    POLL_MS,
  );
  if (state.type !== 'COMPLETED') throw new Error(`run ${flowRun.id} ended ${state.type}: ${state.message ?? ''}`);
}

async function sequentialRuns(server: TestServer, scratch: string, deploymentId: string, prestart: number): Promise<number> {
  const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const worker = startBenchWorker(
    server,
    await server.createKey('worker', ['default']),
    join(scratch, `worker-${prestart}`),
    prestart,
  );
  try {
    await waitFor('the worker to come online', async () => {
      const { items } = unwrap(await client.call('workersList', { params: { pool: 'default' } }));
      return items.some((w) => w.status === 'ONLINE') ? true : undefined;
    });
    // Not counted: the first run pulls the bundle into the worker's cache, once per digest.
    await runOnce(client, deploymentId);
    // Pre-started processes replace the one the warm-up used; let them start before timing.
    if (prestart > 0) await pause(2000);
    const started = performance.now();
    for (let i = 0; i < RUNS; i++) await runOnce(client, deploymentId);
    return (performance.now() - started) / 1000;
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker output:\n${worker.output().slice(-3000)}`, { cause: error });
  } finally {
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
    const project = join(scratch, 'project');
    await makeProject(project);
    const env = {
      OUTPOST_API_URL: server.url,
      OUTPOST_API_KEY: server.ownerKey,
      OUTPOST_REGISTRY: `oci-layout://${join(scratch, 'registry')}`,
    };
    const deployed = await runCli(['deploy'], env, project);
    if (deployed.code !== 0) throw new Error(`deploy failed:\n${deployed.output}`);
    const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    const deployment = await client
      .call('deploymentsGetByName', { params: { flow: 'light', name: 'default' } })
      .then(unwrap)
      .finally(() => client.close());

    const cold = await sequentialRuns(server, scratch, deployment.id, 0);
    const warm = await sequentialRuns(server, scratch, deployment.id, 2);
    const bare = await bareProcessStarts();
    const note = `${RUNS} sequential \`node -e 0\` process starts (${dirname(process.execPath)}/node ${process.version})`;
    return [
      row(`${RUNS} sequential light runs, process start included`, cold, 's', bare, note),
      row(`${RUNS} sequential light runs, 2 flow processes pre-started (default)`, warm, 's', bare, note),
    ];
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
