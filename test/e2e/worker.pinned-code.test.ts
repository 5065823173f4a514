import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushCodeVersions } from '../support/bundles.js';
import { repoRoot } from '../support/processes.js';
import { runSettled, startWorkerProcess, type WorkerProcess, waitFor, workerEnv } from '../support/worker-process.js';

/*
 * Runs pinned to their code, with a real worker running real bundles: two builds of one project
 * (code version A and B) pushed to a local OCI layout. A run's first attempt of A is held until B is
 * deployed, then fails; its retry must run A again, and a new run B.
 */
const FIXTURE = join(repoRoot, 'test/e2e/fixtures/pinned-flows');
const ENTRYPOINT = 'flows/pinned.ts';

describe('worker: runs pinned to their code', () => {
  let scratch: string;
  let server: TestServer;
  let owner: OutpostClient;
  let worker: WorkerProcess;
  let sourceA: string;
  let sourceB: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-e2e-pinned-'));
    ({ a: sourceA, b: sourceB } = await pushCodeVersions(FIXTURE, ENTRYPOINT, scratch, ['a', 'b']));
    server = await startTestServer();
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    worker = startWorkerProcess(['--pool', 'default', '--name', 'pinned-w1', '--heartbeat-interval', '1s', '--poll-wait', '1s'], {
      ...workerEnv({ url: server.url, key: await server.createKey('worker', ['default']) }, scratch),
      OUTPOST_WORKER_LOG_BATCH_INTERVAL: '100ms',
    });
  }, 120_000);

  afterAll(async () => {
    await worker?.stop();
    await owner?.close();
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  async function deploy(source: string, extra: Record<string, unknown> = {}) {
    return unwrap(
      await owner.call('deploymentsUpsert', {
        body: { flowName: 'pinned', name: 'pinned', source, entrypoint: ENTRYPOINT, workPool: 'default', ...extra },
      }),
    ).deployment;
  }

  async function settled(runId: string): Promise<FlowRun> {
    return runSettled(owner, runId, 90_000, `run ${runId} to finish\n${worker.output()}`);
  }

  async function messages(runId: string): Promise<{ attempt: number; message: string }[]> {
    const { items } = unwrap(await owner.call('logsRead', { params: { id: runId }, query: { limit: 5000 } }));
    return items.map((line) => ({ attempt: line.attempt, message: line.message }));
  }

  it('a retry after a redeploy runs the first code, as both attempt rows show; a new run gets the new code', async () => {
    expect(sourceA).not.toBe(sourceB);
    const digestA = sourceA.slice(sourceA.lastIndexOf('@') + 1);
    const digestB = sourceB.slice(sourceB.lastIndexOf('@') + 1);
    const a = await deploy(sourceA, { retries: 1 });
    const gate = join(scratch, 'gate');
    const run = unwrap(
      await owner.call('deploymentsCreateRun', { params: { id: a.id }, body: { parameters: { gate } } }),
    ).flowRun;
    expect(run.sourceDigest).toBe(digestA);

    // Attempt 1 of A is running and held: deploy B, then let it fail.
    await waitFor(() => existsSync(`${gate}.started`), 60_000, `attempt 1 to start\n${worker.output()}`);
    const b = await deploy(sourceB, { retries: 1 });
    expect(b.versionId).not.toBe(a.versionId);
    writeFileSync(`${gate}.release`, '');

    const done = await settled(run.id);
    expect(done).toMatchObject({ state: { type: 'COMPLETED' }, attempt: 2, deploymentVersionId: a.versionId });
    const lines = (await messages(run.id)).filter((l) => l.message.startsWith('code version'));
    expect(lines).toEqual([
      { attempt: 1, message: 'code version A on attempt 1' },
      { attempt: 2, message: 'code version A on attempt 2' },
    ]);
    const { items: attempts } = unwrap(await owner.call('flowRunsAttempts', { params: { id: run.id } }));
    expect(attempts).toMatchObject([
      { attempt: 1, workerName: 'pinned-w1', sourceDigest: digestA, state: { type: 'FAILED' } },
      { attempt: 2, workerName: 'pinned-w1', sourceDigest: digestA, state: { type: 'COMPLETED' } },
    ]);

    const fresh = unwrap(await owner.call('deploymentsCreateRun', { params: { id: a.id }, body: {} })).flowRun;
    expect(await settled(fresh.id)).toMatchObject({ state: { type: 'COMPLETED' }, deploymentVersionId: b.versionId });
    expect((await messages(fresh.id)).filter((l) => l.message.startsWith('code version'))).toEqual([
      { attempt: 1, message: 'code version B on attempt 1' },
    ]);
    const { items: freshAttempts } = unwrap(await owner.call('flowRunsAttempts', { params: { id: fresh.id } }));
    expect(freshAttempts).toMatchObject([{ attempt: 1, sourceDigest: digestB }]);
  }, 180_000);

  it('a backfill run and a manual run read their own context in the flow body and in a task', async () => {
    const deployment = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'context',
          name: 'context',
          source: sourceA,
          entrypoint: ENTRYPOINT,
          workPool: 'default',
          tags: ['nightly', 'etl'],
          // Yearly: the scheduler's own runs are never due during the test.
          schedules: [{ slug: 'daily', cron: '0 0 1 1 *' }],
        },
      }),
    ).deployment;
    const [schedule] = unwrap(await owner.call('schedulesList', { params: { id: deployment.id } })).items;
    const backfill = unwrap(
      await owner.call('backfillsCreate', {
        params: { id: deployment.id },
        body: { start: '2025-01-01T00:00:00Z', end: '2025-01-02T00:00:00Z', maxConcurrent: 1 },
      }),
    );
    const manualTime = new Date(Date.now() - 5_000).toISOString();
    const manual = unwrap(
      await owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: { scheduledTime: manualTime } }),
    ).flowRun;
    const backfillRun = await waitFor(
      async () =>
        unwrap(await owner.call('flowRunsList', { query: { deploymentId: deployment.id, limit: 50 } })).items.find(
          (r) => r.backfillId === backfill.id,
        ),
      10_000,
      'the backfill run',
    );

    for (const [run, scheduledTime, scheduleId] of [
      [backfillRun, '2025-01-01T00:00:00.000Z', schedule?.id],
      [manual, manualTime, null],
    ] as const) {
      const done = await settled(run.id);
      expect(done.state.type).toBe('COMPLETED');
      const expected = {
        runId: run.id,
        runName: run.name,
        flowName: 'context',
        attempt: 1,
        deploymentId: deployment.id,
        deploymentName: 'context',
        scheduledTime,
        scheduleId,
        tags: ['nightly', 'etl'],
        partitionKey: null,
      };
      const logged = await messages(run.id);
      const read = (prefix: string) => {
        const line = logged.find((l) => l.message.startsWith(prefix));
        expect(line, `${prefix} line of ${run.id}`).toBeDefined();
        return JSON.parse(line?.message.slice(prefix.length) ?? 'null');
      };
      expect(read('ctx ')).toEqual(expected);
      expect(read('task ')).toEqual(expected);
    }
  }, 180_000);
});
