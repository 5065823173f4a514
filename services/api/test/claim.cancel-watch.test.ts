import { randomUUID } from 'node:crypto';
import { beforeAll, expect, test } from 'vitest';
import { setState } from './backfill.support.js';
import { type Call, client, deploy, eventually, useServer } from './helpers.js';

let worker: Call;
let workerKey: string;

const api = useServer();

beforeAll(async () => {
  workerKey = await api.server.createKey('worker');
  worker = client(api.server, workerKey);
});

interface ClaimBody {
  runs: { flowRun: { id: string; attempt: number } }[];
  cancel?: { id: string; attempt: number }[];
}

/** A pool with one run RUNNING on a worker, as a worker that claimed it sees it. */
async function runningRun(as: { owner: Call; worker: Call } = { owner: api.owner, worker }) {
  const pool = `watch-${randomUUID().slice(0, 8)}`;
  await as.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(as.owner, { flowName: pool, name: 'd', workPool: pool });
  await as.owner('POST', `/deployments/${deployment.id}/runs`, { body: {} });
  const claimed = await as.worker('POST', `/work-pools/${pool}/claim`, { body: { workerId: randomUUID(), limit: 1 } });
  const [run] = (claimed.body as ClaimBody).runs;
  if (!run) throw new Error(`nothing claimed: ${claimed.text}`);
  await setState(as.worker, run.flowRun.id, run.flowRun.attempt, 'RUNNING');
  return { pool, deploymentId: deployment.id as string, id: run.flowRun.id, attempt: run.flowRun.attempt };
}

/**
 * A claim over real HTTP by a new worker id, resolved once the API has registered that worker: from
 * then on the claim watches its held runs, so a cancel after this point can only reach it by waking it.
 */
async function waitingClaim(pool: string, body: Record<string, unknown>) {
  const workerId = randomUUID();
  let settled = false;
  const reply = fetch(`${api.server.url}/api/v1/work-pools/${pool}/claim`, {
    method: 'POST',
    headers: { authorization: `Bearer ${workerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workerId, ...body }),
  }).then(async (res) => {
    settled = true;
    return { status: res.status, body: (await res.json()) as ClaimBody };
  });
  await eventually(async () => {
    const [row] = await api.server.sql`SELECT 1 FROM workers WHERE id = ${workerId}`;
    return row ? true : undefined;
  });
  return { reply, settled: () => settled };
}

test('a full worker watching its held run (limit 0) hears the cancel as soon as it is asked, long before its wait ends', async () => {
  const run = await runningRun();
  const claim = await waitingClaim(run.pool, {
    limit: 0,
    waitMs: 25_000,
    held: [{ id: run.id, attempt: run.attempt }],
  });
  expect(claim.settled()).toBe(false);
  const cancelled = await api.owner('POST', `/flow-runs/${run.id}/cancel`, { body: { transitionId: randomUUID() } });
  expect(cancelled.body.state.type).toBe('CANCELLING');
  const res = await claim.reply;
  expect(res.status).toBe(200);
  expect(res.body).toEqual({ runs: [], cancel: [{ id: run.id, attempt: run.attempt }] });
});

test('a claim that names an attempt already asked to cancel answers at once, and a later attempt of the run is not it', async () => {
  const run = await runningRun();
  await api.owner('POST', `/flow-runs/${run.id}/cancel`, { body: { transitionId: randomUUID() } });
  const now = await worker('POST', `/work-pools/${run.pool}/claim`, {
    body: { workerId: randomUUID(), limit: 0, waitMs: 25_000, held: [{ id: run.id, attempt: run.attempt }] },
  });
  expect(now.body).toEqual({ runs: [], cancel: [{ id: run.id, attempt: run.attempt }] });
  const other = await worker('POST', `/work-pools/${run.pool}/claim`, {
    body: { workerId: randomUUID(), limit: 1, held: [{ id: run.id, attempt: run.attempt + 1 }] },
  });
  expect(other.body).toEqual({ runs: [], cancel: [] });
});

test('a watch-only claim claims nothing, even with a run due, and answers with no cancel when its wait ends', async () => {
  const run = await runningRun();
  const due = await api.owner('POST', `/deployments/${run.deploymentId}/runs`, { body: {} });
  const res = await worker('POST', `/work-pools/${run.pool}/claim`, {
    body: { workerId: randomUUID(), limit: 0, waitMs: 300, held: [{ id: run.id, attempt: run.attempt }] },
  });
  expect(res.body).toEqual({ runs: [], cancel: [] });
  const [row] = await api.server.sql<
    { state_type: string }[]
  >`SELECT state_type FROM flow_runs WHERE id = ${due.body.flowRun.id}`;
  expect(row?.state_type).toBe('SCHEDULED');
});

test("a cancel of a run the claim does not name, or of another workspace's run it names, is not reported", async () => {
  const mine = await runningRun();
  const other = await runningRun();
  const elsewhere = await api.server.createWorkspace();
  const stranger = {
    owner: client(api.server, elsewhere.ownerKey),
    worker: client(api.server, await elsewhere.createKey('worker')),
  };
  const foreign = await runningRun(stranger);
  const claim = await waitingClaim(mine.pool, {
    limit: 0,
    waitMs: 1_500,
    held: [
      { id: mine.id, attempt: mine.attempt },
      { id: foreign.id, attempt: foreign.attempt },
    ],
  });
  await api.owner('POST', `/flow-runs/${other.id}/cancel`, { body: { transitionId: randomUUID() } });
  await stranger.owner('POST', `/flow-runs/${foreign.id}/cancel`, { body: { transitionId: randomUUID() } });
  const res = await claim.reply;
  expect(res.body).toEqual({ runs: [], cancel: [] });
});
