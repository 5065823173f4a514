import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { claim, client, createRun, deploy, useServer } from './helpers.js';

const api = useServer();

async function claimedRun(retries = 0) {
  const pool = `logs-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries });
  const run = await createRun(api.owner, deployment.id);
  const [claimed] = await claim(api.owner, pool);
  return { runId: run.id as string, token: claimed.token as string, pool };
}

const levels = ['debug', 'info', 'warning', 'error', 'critical'] as const;

function lines(from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({
    seq: from + i,
    timestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, from + i)).toISOString(),
    level: levels[(from + i) % levels.length],
    message: `line ${from + i}`,
    stream: 'stdout',
  }));
}

test('a retried batch stores nothing twice', async () => {
  const { runId, token } = await claimedRun();
  const asRun = client(api.server, token);
  const batch = { attempt: 1, logs: lines(1, 50) };
  const first = await asRun('POST', `/flow-runs/${runId}/logs`, { body: batch });
  expect(first.status).toBe(200);
  expect(first.body).toEqual({ accepted: 50, duplicates: 0 });
  const retried = await asRun('POST', `/flow-runs/${runId}/logs`, { body: batch });
  expect(retried.body).toEqual({ accepted: 0, duplicates: 50 });
  const overlapping = await asRun('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: lines(41, 20) } });
  expect(overlapping.body).toEqual({ accepted: 10, duplicates: 10 });
  const [row] = await api.server.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM logs WHERE flow_run_id = ${runId}`;
  expect(row?.n).toBe(60);
});

test('reads return lines in order across cursors, and the cursor is always present', async () => {
  const { runId, token } = await claimedRun();
  const asRun = client(api.server, token);
  // Delivered out of order, as a spooling worker may.
  await asRun('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: lines(101, 100) } });
  await asRun('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: lines(1, 100) } });
  const seqs: number[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 20; page++) {
    const res = await api.owner('GET', `/flow-runs/${runId}/logs?limit=33${cursor ? `&cursor=${cursor}` : ''}`);
    expect(res.status).toBe(200);
    expect(typeof res.body.nextCursor).toBe('string');
    seqs.push(...res.body.items.map((l: { seq: number }) => l.seq));
    cursor = res.body.nextCursor;
    if (res.body.items.length === 0) break;
  }
  expect(seqs).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
  // A follower holding the last cursor sees only new lines.
  await asRun('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: lines(201, 2) } });
  const tail = await api.owner('GET', `/flow-runs/${runId}/logs?cursor=${cursor}`);
  expect(tail.body.items.map((l: { seq: number }) => l.seq)).toEqual([201, 202]);
  expect(tail.body.items[0]).toMatchObject({ attempt: 1, message: 'line 201', stream: 'stdout', taskRunId: null });
});

test("a line written in a task reads back with the task run's name, a flow line with none", async () => {
  const { runId, token } = await claimedRun();
  const asRun = client(api.server, token);
  const taskRunId = randomUUID();
  const created = await asRun('POST', `/flow-runs/${runId}/task-runs`, {
    body: {
      id: taskRunId,
      flowRunAttempt: 1,
      name: 'extract-2',
      taskKey: 'extract',
      dynamicKey: '2',
      state: { type: 'RUNNING' },
    },
  });
  expect(created.status).toBeLessThan(300);
  const [inTask, inFlow] = lines(1, 2);
  const wrote = await asRun('POST', `/flow-runs/${runId}/logs`, {
    body: { attempt: 1, logs: [{ ...inTask, taskRunId }, inFlow] },
  });
  expect(wrote.body).toEqual({ accepted: 2, duplicates: 0 });
  const read = await api.owner('GET', `/flow-runs/${runId}/logs`);
  expect(read.body.items.map((l: { taskRunId: string | null; taskName: string | null }) => [l.taskRunId, l.taskName])).toEqual([
    [taskRunId, 'extract-2'],
    [null, null],
  ]);
});

test('the level filter returns that level and above', async () => {
  const { runId, token } = await claimedRun();
  await client(api.server, token)('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: lines(1, 20) } });
  const res = await api.owner('GET', `/flow-runs/${runId}/logs?level=error`);
  expect(res.body.items.length).toBe(8);
  expect(new Set(res.body.items.map((l: { level: string }) => l.level))).toEqual(new Set(['error', 'critical']));
});

test('lines of an earlier attempt are still accepted after a retry, and attempts read in order', async () => {
  const { runId, token, pool } = await claimedRun(1);
  const first = client(api.server, token);
  await first('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
  await first('POST', `/flow-runs/${runId}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'FAILED' } } });
  const [second] = await claim(api.owner, pool);
  expect(second.flowRun.attempt).toBe(2);
  await client(api.server, second.token)('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 2, logs: lines(1, 3) } });
  const late = await first('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: lines(1, 3) } });
  expect(late.body).toEqual({ accepted: 3, duplicates: 0 });
  const all = await api.owner('GET', `/flow-runs/${runId}/logs`);
  expect(all.body.items.map((l: { attempt: number; seq: number }) => `${l.attempt}:${l.seq}`)).toEqual([
    '1:1',
    '1:2',
    '1:3',
    '2:1',
    '2:2',
    '2:3',
  ]);
});

test('a log batch may be larger than other request bodies (up to 5 MiB)', async () => {
  const { runId, token } = await claimedRun();
  const big = Array.from({ length: 100 }, (_, i) => ({
    seq: i + 1,
    timestamp: new Date().toISOString(),
    level: 'info',
    message: 'y'.repeat(20_000),
  }));
  const res = await client(api.server, token)('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: big } });
  expect(res.status).toBe(200);
  expect(res.body.accepted).toBe(100);
});

test('odd message content is stored verbatim, and NUL becomes a replacement character', async () => {
  const { runId, token } = await claimedRun();
  const messages = ['NULL', '{"a":1}', '\\N', 'it\'s "quoted"', 'emoji 🚀', 'nul\u0000byte', ''];
  const logs = messages.map((message, i) => ({ seq: i + 1, timestamp: new Date().toISOString(), level: 'info', message }));
  const res = await client(api.server, token)('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs } });
  expect(res.body.accepted).toBe(messages.length);
  const read = await api.owner('GET', `/flow-runs/${runId}/logs`);
  expect(read.body.items.map((l: { message: string }) => l.message)).toEqual(messages.map((m) => m.replace('\u0000', '\uFFFD')));
});
