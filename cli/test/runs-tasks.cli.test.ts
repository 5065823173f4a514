import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { TaskRun, TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { useTestApi } from './api.support.js';

let runId: string;
const SCORED = 2_500;
const T0 = Date.now() - 120_000;
const at = (ms: number) => new Date(T0 + ms).toISOString();

/**
 * A run claimed by a worker key and started, whose three task runs arrive the way a worker ships
 * them (one batch with its run token): `train` finished in 1.5 s, `train` failed on its second try,
 * `evaluate` still running; then 2,500 finished `score` task runs inserted straight into Postgres.
 */
const api = useTestApi(async ({ owner }) => {
  const worker = new OutpostClient({ baseUrl: api.server.url, token: await api.server.createKey('worker', ['default']) });
  let asRun: OutpostClient | null = null;
  try {
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: { flowName: 'fan-out', name: 'cli', source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: 'default' },
      }),
    );
    unwrap(await owner.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} }));
    const [claimed] = unwrap(
      await worker.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 1 } }),
    ).runs;
    if (!claimed) throw new Error('the run was not claimed');
    runId = claimed.flowRun.id;
    asRun = new OutpostClient({ baseUrl: api.server.url, token: claimed.token });
    unwrap(
      await asRun.call('flowRunsSetState', {
        params: { id: runId },
        body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
      }),
    );
    const [done, failed, running] = [randomUUID(), randomUUID(), randomUUID()];
    const create = (id: string, name: string, i: number) =>
      ({
        kind: 'create',
        id,
        name,
        taskKey: `${name}-${i}`,
        dynamicKey: String(i),
        state: { type: 'RUNNING' },
        at: at(i),
      }) as const;
    const batch = unwrap(
      await asRun.call('taskRunsBatch', {
        params: { id: runId },
        body: {
          flowRunAttempt: 1,
          events: [
            create(done, 'train', 0),
            create(failed, 'train', 1),
            create(running, 'evaluate', 2),
            { kind: 'state', id: done, seq: 1, state: { type: 'COMPLETED' }, at: at(1500) },
            { kind: 'state', id: failed, seq: 1, runCount: 2, state: { type: 'RUNNING', name: 'Retrying' }, at: at(1000) },
            { kind: 'state', id: failed, seq: 2, runCount: 2, state: { type: 'FAILED' }, at: at(4001) },
          ],
        },
      }),
    );
    expect(batch).toEqual({ applied: 6, duplicates: 0, refused: [] });
  } finally {
    await asRun?.close();
    await worker.close();
  }
  await api.server.sql`
    INSERT INTO task_runs (id, workspace_id, flow_run_id, flow_run_attempt, name, task_key, dynamic_key, state_type, state_name,
                           start_time, end_time, created_at)
    SELECT gen_random_uuid(), ${api.server.workspaceId}, ${runId}, 1, 'score', 'score-' || g, g::text, 'COMPLETED', 'Completed',
           c, c + interval '250 milliseconds', c
    FROM generate_series(1, ${SCORED}) g
    CROSS JOIN LATERAL (SELECT ${new Date(T0 + 10_000)}::timestamptz + g * interval '10 milliseconds' AS c) t`;
});

const { outpost } = api;

describe('outpost runs tasks', () => {
  test('prints every task run of a run, oldest first, across pages: name, key, state, duration and tries', async () => {
    const listed = await outpost('runs', 'tasks', runId);
    expect(listed.stderr).toBe('');
    expect(listed.code).toBe(0);
    const lines = listed.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 3 + SCORED);
    expect(lines[0]).toMatch(/^NAME\s+KEY\s+STATE\s+DURATION\s+RUNS$/);
    expect(lines[1]).toMatch(/^train\s+train-0\s+COMPLETED\s+1\.5s\s+1$/);
    expect(lines[2]).toMatch(/^train\s+train-1\s+FAILED\s+4\.0s\s+2$/);
    expect(lines[3]).toMatch(/^evaluate\s+evaluate-2\s+RUNNING\s+\S+( \S+)? so far\s+1$/);
    expect(lines[4]).toMatch(/^score\s+score-1\s+COMPLETED\s+250ms\s+1$/);
    expect(lines.at(-1)).toMatch(new RegExp(`^score\\s+score-${SCORED}\\s+COMPLETED`));
  });

  test('narrows to some states or one task name, stops at --limit, and prints JSON lines with --json', async () => {
    const unfinished = await outpost('runs', 'tasks', runId, '--state', 'failed,running');
    expect(
      unfinished.stdout
        .trimEnd()
        .split('\n')
        .slice(1)
        .map((l) => l.split(/\s+/)[1]),
    ).toEqual(['train-1', 'evaluate-2']);

    const scored = await outpost('runs', 'tasks', runId, '--name', 'score', '--limit', '1500', '--json');
    expect(scored.code).toBe(0);
    const items = scored.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as TaskRun);
    expect(items).toHaveLength(1500);
    expect(new Set(items.map((t) => t.name))).toEqual(new Set(['score']));
    expect(new Set(items.map((t) => t.id)).size).toBe(1500);
    expect(items.map((t) => t.taskKey).slice(998, 1001)).toEqual(['score-999', 'score-1000', 'score-1001']);

    const none = await outpost('runs', 'tasks', runId, '--name', 'train', '--state', 'CRASHED');
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('');
    expect(none.stderr.trim()).toBe('no task runs match');
  });

  test('counts the task runs by state and by task name with --summary, and as the API does with --json', async () => {
    const summary = await outpost('runs', 'tasks', runId, '--summary');
    expect(summary.code).toBe(0);
    const lines = summary.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`${SCORED + 3} task runs`);
    expect(lines.slice(1, 5)).toEqual([
      expect.stringMatching(/^STATE\s+COUNT$/),
      expect.stringMatching(/^RUNNING\s+1$/),
      expect.stringMatching(/^COMPLETED\s+2501$/),
      expect.stringMatching(/^FAILED\s+1$/),
    ]);
    expect(lines).toContainEqual(
      expect.stringMatching(/^NAME\s+TOTAL\s+RUNNING\s+COMPLETED\s+FAILED\s+MEAN\s+MAX\s+FIRST START/),
    );
    expect(lines).toContainEqual(expect.stringMatching(/^train\s+2\s+0\s+1\s+1\s+2\.8s\s+4\.0s\s/));
    expect(lines).toContainEqual(
      expect.stringMatching(new RegExp(`^score\\s+${SCORED}\\s+0\\s+${SCORED}\\s+0\\s+250ms\\s+250ms\\s`)),
    );

    const parsed = JSON.parse((await outpost('runs', 'tasks', runId, '--summary', '--json')).stdout) as TaskRunSummaryResponse;
    expect(parsed.total).toBe(SCORED + 3);
    expect(parsed.byState).toEqual({ COMPLETED: SCORED + 1, FAILED: 1, RUNNING: 1 });
    expect(parsed.byName.map((n) => n.name).sort()).toEqual(['evaluate', 'score', 'train']);
  });

  test('refuses an unknown state and a summary with filters as usage errors, and names the run it cannot find', async () => {
    const unknown = await outpost('runs', 'tasks', runId, '--state', 'DONE');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown state "DONE"');
    const mixed = await outpost('runs', 'tasks', runId, '--summary', '--state', 'FAILED');
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toContain('--summary counts every task run');
    const missing = randomUUID();
    const absent = await outpost('runs', 'tasks', missing);
    expect(absent.code).toBe(1);
    expect(absent.stderr).toContain(`cannot find run ${missing}: Not found`);
  });
});
