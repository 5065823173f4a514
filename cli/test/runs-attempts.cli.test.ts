import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun, FlowRunAttempt } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { useTestApi } from './api.support.js';

let runId: string;
const DIGEST = `sha256:${'d'.repeat(64)}`;

/**
 * A run with no retries that a worker named `trainer-7` ran and crashed (exit code 137), then
 * retried by hand and claimed again: attempt 2 of a run allowed one.
 */
const api = useTestApi(async ({ owner }) => {
  const worker = new OutpostClient({ baseUrl: api.server.url, token: await api.server.createKey('worker', ['default']) });
  try {
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'attempts',
          name: 'cli',
          source: `oci://127.0.0.1:5000/acme/flows@${DIGEST}`,
          entrypoint: 'flow.mjs',
          workPool: 'default',
        },
      }),
    );
    runId = unwrap(await owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} })).flowRun.id;
    const workerId = randomUUID();
    unwrap(
      await worker.call('workersHeartbeat', {
        params: { pool: 'default' },
        body: { workerId, name: 'trainer-7', capacity: 1, runs: [] },
      }),
    );
    const claimOnce = async () =>
      unwrap(await worker.call('claim', { params: { pool: 'default' }, body: { workerId, limit: 1 } })).runs[0];
    const propose = async (attempt: number, type: 'RUNNING' | 'CRASHED', exitCode?: number) =>
      unwrap(
        await worker.call('flowRunsSetState', {
          params: { id: runId },
          body: { transitionId: randomUUID(), attempt, state: { type }, ...(exitCode === undefined ? {} : { exitCode }) },
        }),
      );
    expect((await claimOnce())?.flowRun.id).toBe(runId);
    await propose(1, 'RUNNING');
    expect((await propose(1, 'CRASHED', 137)).state.type).toBe('CRASHED');
    unwrap(await owner.call('flowRunsRetry', { params: { id: runId }, body: { transitionId: randomUUID() } }));
    expect((await claimOnce())?.flowRun.attempt).toBe(2);
  } finally {
    await worker.close();
  }
});

const { outpost } = api;

describe('outpost runs attempts', () => {
  test("prints each attempt with its worker, how it ended, its exit code and the code's digest", async () => {
    const listed = await outpost('runs', 'attempts', runId);
    expect(listed.code).toBe(0);
    const [header, first, second, ...rest] = listed.stdout.trimEnd().split('\n');
    expect(rest).toEqual([]);
    expect(header?.split(/\s{2,}/)).toEqual([
      'ATTEMPT',
      'WORKER',
      'CLAIMED (UTC)',
      'STARTED',
      'DURATION',
      'ENDED AS',
      'EXIT',
      'CODE',
    ]);
    const short = DIGEST.slice(0, 19);
    expect(first).toMatch(new RegExp(`^1\\s+trainer-7\\s.*\\sCRASHED\\s+137\\s+${short}$`));
    expect(second).toMatch(new RegExp(`^2\\s+trainer-7\\s.*\\srunning\\s+-\\s+${short}$`));

    const asJson = await outpost('runs', 'attempts', runId, '--json');
    const items = JSON.parse(asJson.stdout) as FlowRunAttempt[];
    expect(items.map((a) => [a.attempt, a.workerName, a.state?.type ?? null, a.exitCode, a.sourceDigest])).toEqual([
      [1, 'trainer-7', 'CRASHED', 137, DIGEST],
      [2, 'trainer-7', null, null, DIGEST],
    ]);
  });

  test('shows the attempts, the code and a hand retry past the limit in `runs get`, and includes the attempts in its JSON', async () => {
    const shown = await outpost('runs', 'get', runId);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^attempt:\s+2 \(retried by hand after 1\)$/m);
    expect(shown.stdout).toMatch(new RegExp(`^code:\\s+${DIGEST.slice(0, 19)}$`, 'm'));
    expect(shown.stdout).toMatch(/^scheduled:\s+\d{4}-/m);
    expect(shown.stdout).toMatch(/^1\s+trainer-7\s.*CRASHED\s+137/m);
    // The worker by its name, not its id.
    expect(shown.stdout).toMatch(/^worker:\s+trainer-7$/m);

    const asJson = JSON.parse((await outpost('runs', 'get', runId, '--json')).stdout) as FlowRun & { attempts: FlowRunAttempt[] };
    expect(asJson.id).toBe(runId);
    expect(asJson.sourceDigest).toBe(DIGEST);
    expect(asJson.attempts.map((a) => a.attempt)).toEqual([1, 2]);
  });

  test('says so when no worker has claimed the run, and names a run it cannot find', async () => {
    const owner = new OutpostClient({ baseUrl: api.server.url, token: api.server.ownerKey });
    try {
      const [deployment] = unwrap(await owner.call('deploymentsList', {})).items;
      const fresh = unwrap(await owner.call('deploymentsCreateRun', { params: { id: deployment?.id as string }, body: {} }))
        .flowRun.id;
      const none = await outpost('runs', 'attempts', fresh);
      expect(none.code).toBe(0);
      expect(none.stdout.trim()).toBe('no attempt yet: no worker has claimed this run');
    } finally {
      await owner.close();
    }
    const missing = randomUUID();
    const unknown = await outpost('runs', 'attempts', missing);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain(`cannot find run ${missing}`);
  });

  test('shows the code of a git-pinned run as the first 12 digits of its commit', async () => {
    const commit = `0123456789ab${'e'.repeat(28)}`;
    const owner = new OutpostClient({ baseUrl: api.server.url, token: api.server.ownerKey });
    let id: string;
    try {
      const { deployment } = unwrap(
        await owner.call('deploymentsUpsert', {
          body: {
            flowName: 'attempts',
            name: 'from-git',
            source: `git+https://git.example.com/acme/flows.git#${commit}`,
            entrypoint: 'flow.mjs',
            workPool: 'default',
          },
        }),
      );
      id = unwrap(await owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} })).flowRun.id;
    } finally {
      await owner.close();
    }
    const shown = await outpost('runs', 'get', id);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^code:\s+0123456789ab$/m);
  });
});
