import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { buildBundle } from '@outpost/sdk/bundle';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { type FlowRun, isTerminal } from '@outpost/sdk/contracts';
import { stop as stopEsbuild } from 'esbuild';
import postgres from 'postgres';
import { writeBundle } from './bundles.js';
import { repoRoot } from './processes.js';
import { waitFor } from './worker-process.js';

export const WORKER_FLOWS = join(repoRoot, 'test/e2e/fixtures/worker-flows');

/** Builds the worker suites' flows into `dir` the way `outpost deploy` lays a bundle out; returns the `dir://` source. */
export async function buildWorkerFlows(dir: string): Promise<string> {
  const built = await buildBundle({ projectDir: WORKER_FLOWS, entrypoints: ['flows/worker.ts'] });
  await stopEsbuild();
  return writeBundle(built, dir);
}

/** The API on a fresh database, an owner client, and small helpers over both. */
export class Plane {
  owner!: OutpostClient;
  server!: TestServer;

  static async start(overrides: Parameters<typeof startTestServer>[0] = {}): Promise<Plane> {
    const plane = new Plane();
    plane.server = await startTestServer(overrides);
    plane.owner = new OutpostClient({ baseUrl: plane.server.url, token: plane.server.ownerKey });
    return plane;
  }

  async close(): Promise<void> {
    await this.owner?.close();
    await this.server?.close();
  }

  async deploy(flowName: string, source: string, extra: Record<string, unknown> = {}): Promise<string> {
    const { deployment } = unwrap(
      await this.owner.call('deploymentsUpsert', {
        body: { flowName, name: `${flowName}-e2e`, source, entrypoint: 'flows/worker.ts', workPool: 'default', ...extra },
      }),
    );
    return deployment.id;
  }

  async run(deploymentId: string, parameters: Record<string, string | number> = {}): Promise<string> {
    const { flowRun } = unwrap(
      await this.owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: { parameters } }),
    );
    return flowRun.id;
  }

  async get(runId: string): Promise<FlowRun> {
    return unwrap(await this.owner.call('flowRunsGet', { params: { id: runId } }));
  }

  /**
   * Polls the run until it is terminal. A 503 counts as "not yet": the API answers so, with "retry",
   * while it reconnects to its database (as after every session of it is terminated), and a client is
   * meant to retry it. Any other failure ends the wait.
   */
  async settled(runId: string, timeoutMs = 120_000): Promise<FlowRun> {
    return waitFor(
      async () => {
        const result = await this.owner.call('flowRunsGet', { params: { id: runId } });
        if (!result.ok && result.kind === 'http_error' && result.status === 503) return null;
        const run = unwrap(result);
        return isTerminal(run.state.type) ? run : null;
      },
      timeoutMs,
      `run ${runId} to finish`,
    );
  }

  /** Every stored line of a run attempt, straight from the database, in sequence order. */
  async lines(runId: string, attempt = 1): Promise<Array<{ seq: number; message: string }>> {
    return this.server.sql<Array<{ seq: number; message: string }>>`
      SELECT seq, message FROM logs WHERE flow_run_id = ${runId} AND attempt = ${attempt} ORDER BY seq`;
  }

  /** A connection to the same cluster's `postgres` database, for the test's own administration. */
  admin(): postgres.Sql {
    const url = new URL(this.server.databaseUrl);
    url.pathname = '/postgres';
    return postgres(url.toString(), { max: 1, onnotice: () => {} });
  }

  get databaseName(): string {
    return new URL(this.server.databaseUrl).pathname.slice(1);
  }
}
