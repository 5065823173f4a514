import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { TestServer } from '@outpost/api/testing';
import { runDeployment } from '@outpost/sdk';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun, StateType } from '@outpost/sdk/contracts';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerHandle } from '../src/worker.js';
import type { trainModel } from './fixtures/flows/deployment-runs.js';
import { startTestServer } from './support/api-testing.js';
import { buildDemoBundle } from './support/bundle.js';
import { tearDown } from './support/leaks.js';
import { startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

const FIXTURE = new URL('./fixtures/flows/deployment-runs.ts', import.meta.url).pathname;
const WORKER_VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string })
  .version;

/*
 * runDeployment end to end: the real API on its own database, a real worker running real flow
 * processes from a bundle. The worker has one slot, so a parent that waits on its child in its
 * process would starve it: the child runs only because the parent suspended and gave the slot back.
 */
describe('runDeployment on a worker against the real API', () => {
  let server: TestServer;
  let owner: OutpostClient;
  let worker: WorkerHandle;
  let bundle: { dir: string; source: string; entrypoint: string };
  let scratch: string;
  let results: string;
  const deployments = new Map<string, string>();

  beforeAll(async () => {
    server = await startTestServer();
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    bundle = await buildDemoBundle(FIXTURE, 'deployment-runs');
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-rd-'));
    results = pathToFileURL(join(scratch, 'results')).href;
    for (const flowName of ['train-model', 'orchestrate']) {
      const { deployment } = unwrap(
        await owner.call('deploymentsUpsert', {
          body: {
            flowName,
            name: 'test',
            source: bundle.source,
            entrypoint: bundle.entrypoint,
            workPool: 'default',
            // A parent that fails after its child ended is retried at once.
            ...(flowName === 'orchestrate' ? { retries: 1, retryDelaySeconds: 0 } : {}),
          },
        }),
      );
      deployments.set(flowName, deployment.id);
    }
    const workerKey = await server.createKey('worker', ['default']);
    worker = await startTestWorker({
      apiUrl: server.url,
      apiKey: workerKey,
      scratch,
      args: [
        '--name',
        'rd-test-worker',
        '--limit',
        '1',
        '--heartbeat-interval',
        '300ms',
        '--poll-wait',
        '1s',
        '--prestart',
        '0',
        '--result-storage',
        results,
      ],
    });
  });

  afterAll(() => tearDown(worker, owner, server, bundle?.dir, scratch));

  afterEach(async () => {
    await waitFor(() => worker.runs.length === 0, 30_000, 'the worker to let go of its runs');
  });

  async function createRun(flowName: string, parameters: Record<string, unknown>): Promise<string> {
    const id = deployments.get(flowName) as string;
    return unwrap(await owner.call('deploymentsCreateRun', { params: { id }, body: { parameters: parameters as never } })).flowRun
      .id;
  }

  async function ended(runId: string): Promise<FlowRun> {
    return waitFor(
      async () => {
        const run = unwrap(await owner.call('flowRunsGet', { params: { id: runId } }));
        return ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'].includes(run.state.type) ? run : null;
      },
      90_000,
      `run ${runId} to end`,
    );
  }

  async function childrenOf(parentId: string): Promise<FlowRun[]> {
    const runs = unwrap(
      await owner.call('flowRunsList', { query: { deploymentId: deployments.get('train-model') as string, limit: 200 } }),
    ).items;
    return runs.filter((r) => r.parentFlowRunId === parentId);
  }

  async function historyOf(runId: string): Promise<{ type: StateType; name: string }[]> {
    return unwrap(await owner.call('flowRunsStates', { params: { id: runId } })).items.map((s) => ({
      type: s.state.type,
      name: s.state.name,
    }));
  }

  async function logText(runId: string): Promise<string> {
    const lines = unwrap(await owner.call('logsRead', { params: { id: runId }, query: { limit: 5000 } })).items;
    return lines.map((l) => l.message).join('\n');
  }

  it("a parent suspends while its child runs on the freed slot, then replays, finds the same child and reads the child's result", async () => {
    const parentId = await createRun('orchestrate', { epochs: 7, holdSeconds: 0 });

    const parent = await ended(parentId);

    expect(parent.state.type).toBe('COMPLETED');
    const children = await childrenOf(parentId);
    expect(children).toHaveLength(1);
    const child = children[0] as FlowRun;
    expect(child.state.type).toBe('COMPLETED');
    expect(child.parentFlowRunId).toBe(parentId);
    expect(child.parameters).toEqual({ epochs: 7 });
    // The parent gave its slot back while the child ran, and the replay found the child it started.
    expect(await historyOf(parentId)).toEqual(expect.arrayContaining([{ type: 'PAUSED', name: 'Suspended' }]));
    const text = await logText(parentId);
    expect(text).toContain(`started run ${child.name} of train-model/test (${child.id})`);
    expect(text).toContain(`found run ${child.name} of train-model/test (${child.id})`);
    expect(text).toContain(`child ${child.id} ended COMPLETED with auc 0.57`);
    // Only a reference to each result reached the control plane.
    expect(child.state.data).toEqual({ resultRef: expect.stringMatching(new RegExp(`^${results}/`)) });
  });

  it('a retried parent finds the child its failed attempt started instead of starting a second one', async () => {
    const marker = join(scratch, 'fail-once');
    const parentId = await createRun('orchestrate', { epochs: 3, holdSeconds: 0, failOnceMarker: marker });

    const parent = await ended(parentId);

    expect(parent.state.type).toBe('COMPLETED');
    expect(parent.attempt).toBeGreaterThanOrEqual(2);
    const children = await childrenOf(parentId);
    expect(children.map((c) => c.state.type)).toEqual(['COMPLETED']);
    const history = await historyOf(parentId);
    expect(history.map((s) => s.type)).toContain('FAILED');
    expect(history.some((s) => s.name === 'AwaitingRetry')).toBe(true);
    const text = await logText(parentId);
    expect(text).toContain('failing once after the child ended, to be retried');
    expect(text.match(/started run /g)).toHaveLength(1);
  });

  it('an app starts a run with the API, waits for it and reads its typed result from the shared storage', async () => {
    const run = await runDeployment<typeof trainModel>(
      'train-model/test',
      { epochs: 12 },
      {
        apiUrl: server.url,
        apiKey: server.ownerKey,
      },
    );
    expect(run.state).toBeNull();

    await run.wait({ timeoutSeconds: 90 });

    expect(run.state?.type).toBe('COMPLETED');
    const result = await run.result();
    expect(result.auc).toBeCloseTo(0.62);
    expect(result.epochs).toBe(12);
  });

  it("a run's manifest names the worker version, the executor and the Node version of its attempt", async () => {
    const runId = await createRun('train-model', { epochs: 1 });
    await ended(runId);

    const manifest = unwrap(await owner.call('flowRunsManifest', { params: { id: runId } }));

    expect(manifest.attempts).toEqual([
      expect.objectContaining({
        attempt: 1,
        workerName: 'rd-test-worker',
        workerVersion: WORKER_VERSION,
        executor: 'process',
        nodeVersion: process.version,
        image: null,
        imageDigest: null,
      }),
    ]);
  });
});
