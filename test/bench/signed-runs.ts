import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { isTerminal } from '@outpost/sdk/contracts';
import {
  deploymentStatement,
  generateDeployKeyPair,
  parseSigningKey,
  parseTrustKey,
  signDeploymentStatement,
  statementMismatch,
  verifyDeploymentSignature,
} from '@outpost/sdk/signing';
import { startBenchWorker } from './support/bench-worker.js';
import { cliInProject, writeFlowProject } from './support/flow-project.js';
import { pause, type Row, row, waitFor } from './support/row.js';

/**
 * What signed deployments cost. End to end: light runs one after another (each created after the
 * previous one COMPLETED) of one signed deployment, on a worker with `--trust-key` (it verifies
 * every claim) against the same runs on a worker without one, in alternating rounds so the
 * machine's noise falls on both. In isolation: signing one deployment (`outpost deploy --sign-key`)
 * and verifying one claim (signature, statement comparison), each against the mean run without
 * verification.
 */
export const timeoutSeconds = 300;

const RUNS_PER_ROUND = 20;
const ROUNDS = 2;
const POLL_MS = 10;

const CONFIG = `import { defineConfig } from '@outpost/sdk';
export default defineConfig({
  project: 'bench-signed',
  registry: process.env.OUTPOST_REGISTRY ?? 'oci-layout:./registry',
  deployments: [{ flow: 'light', name: 'default', entrypoint: 'flows/light.ts', pool: 'default',
    jobVariables: { env: { DB_PASSWORD: { $secret: 'DB_PASSWORD' }, MODE: 'bench' } } }],
});
`;
const FLOW = `import { flow, z } from '@outpost/sdk';
export const light = flow({ name: 'light', params: z.object({ n: z.number().int().min(0).max(100).default(10) }) }, async ({ n }) => n * 2);
`;

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

/** Seconds for RUNS_PER_ROUND sequential runs on a fresh worker started with `args`, after one warm-up run. */
async function round(server: TestServer, scratch: string, deploymentId: string, args: string[]): Promise<number> {
  const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  const worker = startBenchWorker(server, await server.createKey('worker', ['default']), scratch, 2, args);
  try {
    await waitFor('the worker to come online', async () => {
      const { items } = unwrap(await client.call('workersList', { params: { pool: 'default' } }));
      return items.some((w) => w.status === 'ONLINE') ? true : undefined;
    });
    await runOnce(client, deploymentId);
    // The pre-started processes replace the one the warm-up used.
    await pause(2000);
    const started = performance.now();
    for (let i = 0; i < RUNS_PER_ROUND; i++) await runOnce(client, deploymentId);
    return (performance.now() - started) / 1000;
  } catch (error) {
    throw new Error(`${(error as Error).message}\nworker output:\n${worker.output().slice(-3000)}`, { cause: error });
  } finally {
    await worker.stop('SIGTERM');
    await client.close();
  }
}

/** Mean microseconds of `fn` over `n` calls, after `n / 10` calls of warm-up. */
async function meanMicros(n: number, fn: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < n / 10; i++) await fn();
  const started = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - started) * 1000) / n;
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer();
  const scratch = await mkdtemp(join(tmpdir(), 'outpost-bench-signed-'));
  try {
    const { project, env } = await writeFlowProject(server, scratch, CONFIG, { 'light.ts': FLOW });
    const keys = join(scratch, 'keys');
    await cliInProject(['deploy-keys', 'create', keys], env, scratch);
    await cliInProject(['deploy', '--no-typecheck', '--sign-key', join(keys, 'deploy-key.pem')], env, project);
    const client = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    const deployment = await client
      .call('deploymentsGetByName', { params: { flow: 'light', name: 'default' } })
      .then(unwrap)
      .finally(() => client.close());
    if (!deployment.signature) throw new Error('the deployment was registered unsigned');

    // The worker reads the secret the deployment maps from a secrets directory of its own.
    const secrets = join(scratch, 'secrets');
    await mkdir(secrets);
    await writeFile(join(secrets, 'DB_PASSWORD'), 'bench-secret-value\n', { mode: 0o600 });
    const common = ['--secrets-dir', secrets];
    let plain = 0;
    let verified = 0;
    for (let i = 0; i < ROUNDS; i++) {
      plain += await round(server, join(scratch, `plain-${i}`), deployment.id, common);
      verified += await round(server, join(scratch, `verified-${i}`), deployment.id, [
        ...common,
        '--trust-key',
        join(keys, 'deploy-key.pub.pem'),
      ]);
    }
    const runs = RUNS_PER_ROUND * ROUNDS;

    // In isolation, with a statement the size of this deployment's.
    const pair = generateDeployKeyPair();
    const signing = parseSigningKey(pair.privateKeyPem);
    const trust = [parseTrustKey(pair.publicKeyPem)];
    const fields = {
      flowName: deployment.flowName,
      deployment: deployment.name,
      workPool: deployment.workPool,
      source: deployment.source,
      entrypoint: deployment.entrypoint,
      jobVariables: deployment.jobVariables,
      parameterSchema: deployment.parameterSchema,
    };
    const jws = await signDeploymentStatement(deploymentStatement(fields), signing);
    const signMicros = await meanMicros(500, () => signDeploymentStatement(deploymentStatement(fields), signing));
    const verifyMicros = await meanMicros(2000, async () => {
      const { statement } = await verifyDeploymentSignature(jws, trust);
      if (statementMismatch(statement, fields) !== null) throw new Error('the statement does not match');
    });
    const meanRunMicros = (plain / runs) * 1e6;
    const note = `the same ${runs} runs on a worker without --trust-key, in alternating rounds of ${RUNS_PER_ROUND}`;
    const perRun = `the mean run on a worker without --trust-key (${(meanRunMicros / 1000).toFixed(0)} ms)`;
    return [
      row(`${runs} sequential light runs of a signed deployment, worker with --trust-key`, verified, 's', plain, note),
      row('verify one claim: Ed25519 signature and statement comparison', verifyMicros, 'µs', meanRunMicros, perRun),
      row('sign one deployment (outpost deploy --sign-key)', signMicros, 'µs', meanRunMicros, perRun),
    ];
  } finally {
    await server.close();
    await rm(scratch, { recursive: true, force: true });
  }
}
