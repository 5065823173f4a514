import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { SchedulerLoop } from '../src/loops/scheduler.js';
import { type Call, claim, client, createRun, deploy, unique, useServer } from './helpers.js';

let worker: Call;
let scheduler: SchedulerLoop;

const api = useServer();

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
  scheduler = new SchedulerLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'));
});
afterAll(async () => {
  await scheduler?.stop();
});

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const oci = (c: string) => `oci://127.0.0.1:5000/acme/flows@${digest(c)}`;

/** A deployment in a pool of its own, so claims see only its runs. */
async function pinned(extra: Record<string, unknown> = {}) {
  const pool = unique('pool');
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const base = { flowName: unique('pin'), name: 'd', workPool: pool, source: oci('a'), entrypoint: 'flows/a.js', ...extra };
  const d = await deploy(api.owner, base);
  return { pool, base, deployment: d as { id: string; versionId: string } };
}

async function setState(runId: string, attempt: number, type: string) {
  const res = await worker('POST', `/flow-runs/${runId}/set-state`, {
    body: { transitionId: randomUUID(), attempt, state: { type } },
  });
  expect(res.status).toBe(200);
  expect(res.body.status).toBe('ACCEPT');
  return res.body;
}

async function getRun(id: string) {
  const res = await api.owner('GET', `/flow-runs/${id}`);
  expect(res.status).toBe(200);
  return res.body as {
    attempt: number;
    deploymentVersionId: string;
    sourceDigest: string | null;
    scheduledTime: string;
    scheduleId: string | null;
    expectedStartTime: string;
  };
}

async function attempts(id: string) {
  const res = await api.owner('GET', `/flow-runs/${id}/attempts`);
  expect(res.status).toBe(200);
  return res.body.items as { attempt: number; sourceDigest: string | null; state: { type: string } | null }[];
}

describe('deployment versions', () => {
  test('deploying the same content keeps one version; new code, entrypoint or job variables make another, whatever the key order', async () => {
    const { base, deployment } = await pinned({ jobVariables: { env: { A: '1', B: '2' } } });
    const again = await deploy(api.owner, { ...base, jobVariables: { env: { B: '2', A: '1' } } });
    expect(again.versionId).toBe(deployment.versionId);
    // Parameters and retries are not code: the version stays.
    expect(
      (await deploy(api.owner, { ...base, jobVariables: { env: { A: '1', B: '2' } }, parameters: { x: 1 }, retries: 3 }))
        .versionId,
    ).toBe(deployment.versionId);
    const versions = new Set([deployment.versionId]);
    for (const change of [
      { source: oci('b') },
      { entrypoint: 'flows/other.js' },
      { jobVariables: { env: { A: '2', B: '2' } } },
    ]) {
      const changed = await deploy(api.owner, { ...base, jobVariables: { env: { A: '1', B: '2' } }, ...change });
      expect(versions.has(changed.versionId)).toBe(false);
      versions.add(changed.versionId);
    }
    // Back to the first content: its version again, not a copy.
    expect((await deploy(api.owner, { ...base, jobVariables: { env: { A: '1', B: '2' } } })).versionId).toBe(
      deployment.versionId,
    );
  });

  test('a run carries what its source is pinned to: the digest of an OCI source, the commit of a git source, none for a dir source', async () => {
    const { base, deployment } = await pinned();
    expect((await getRun((await createRun(api.owner, deployment.id)).id)).sourceDigest).toBe(digest('a'));
    await deploy(api.owner, { ...base, source: `oci-layout:///srv/flows@${digest('c')}` });
    expect((await getRun((await createRun(api.owner, deployment.id)).id)).sourceDigest).toBe(digest('c'));
    const commit = 'f'.repeat(40);
    await deploy(api.owner, { ...base, source: `git+https://127.0.0.1/acme/flows.git#${commit}` });
    expect((await getRun((await createRun(api.owner, deployment.id)).id)).sourceDigest).toBe(commit);
    await deploy(api.owner, { ...base, source: 'dir:///srv/flows' });
    const dirRun = await getRun((await createRun(api.owner, deployment.id)).id);
    expect(dirRun.sourceDigest).toBeNull();
    expect(dirRun.deploymentVersionId).not.toBe(deployment.versionId);
  });
});

describe('runs pinned to their version', () => {
  test('a retry after a redeploy is claimed with the code, entrypoint and job variables of its first attempt; a new run gets the new ones', async () => {
    const { pool, base, deployment } = await pinned({ retries: 1, jobVariables: { env: { V: 'a' } } });
    const run = await createRun(api.owner, deployment.id);
    const [first] = await claim(worker, pool);
    expect(first.deployment).toMatchObject({ source: oci('a'), entrypoint: 'flows/a.js', jobVariables: { env: { V: 'a' } } });
    await setState(run.id, 1, 'RUNNING');

    await deploy(api.owner, {
      ...base,
      retries: 1,
      source: oci('b'),
      entrypoint: 'flows/b.js',
      jobVariables: { env: { V: 'b' } },
    });
    const failed = await setState(run.id, 1, 'FAILED');
    expect(failed.state.type).toBe('SCHEDULED');

    const [retry] = await claim(worker, pool);
    expect(retry.flowRun).toMatchObject({ id: run.id, attempt: 2, sourceDigest: digest('a') });
    expect(retry.deployment).toMatchObject({ source: oci('a'), entrypoint: 'flows/a.js', jobVariables: { env: { V: 'a' } } });

    const fresh = await createRun(api.owner, deployment.id);
    const [next] = await claim(worker, pool);
    expect(next.flowRun.id).toBe(fresh.id);
    expect(next.deployment).toMatchObject({ source: oci('b'), entrypoint: 'flows/b.js', jobVariables: { env: { V: 'b' } } });

    const rows = await attempts(run.id);
    expect(rows.map((a) => [a.attempt, a.sourceDigest, a.state?.type ?? null])).toEqual([
      [1, digest('a'), 'FAILED'],
      [2, digest('a'), null],
    ]);
  });

  test("a user's retry of a failed run after a redeploy runs the run's own version", async () => {
    const { pool, base, deployment } = await pinned();
    const run = await createRun(api.owner, deployment.id);
    await claim(worker, pool);
    await setState(run.id, 1, 'RUNNING');
    await setState(run.id, 1, 'FAILED');
    await deploy(api.owner, { ...base, source: oci('b') });
    const retried = await api.owner('POST', `/flow-runs/${run.id}/retry`, { body: {} });
    expect(retried.status).toBe(200);
    const [again] = await claim(worker, pool);
    expect(again.flowRun).toMatchObject({ id: run.id, attempt: 2 });
    expect(again.deployment.source).toBe(oci('a'));
  });

  test('scheduled runs are pinned when created, follow a redeploy until claimed, and keep their version and first due time through retries', async () => {
    const { pool, base, deployment } = await pinned({ retries: 1, schedules: [{ slug: 'minutely', intervalSeconds: 60 }] });
    await scheduler.tick();
    const [schedule] = await api.server.sql<
      { id: string }[]
    >`SELECT id FROM deployment_schedules WHERE deployment_id = ${deployment.id}`;
    const planned = await api.server.sql<{ id: string }[]>`
      SELECT id FROM flow_runs WHERE deployment_id = ${deployment.id} ORDER BY expected_start_time`;
    expect(planned.length).toBeGreaterThan(1);
    for (const { id } of planned) {
      expect(await getRun(id)).toMatchObject({ deploymentVersionId: deployment.versionId, scheduleId: schedule?.id });
    }

    const b = await deploy(api.owner, {
      ...base,
      retries: 1,
      source: oci('b'),
      schedules: [{ slug: 'minutely', intervalSeconds: 60 }],
    });
    expect(b.versionId).not.toBe(deployment.versionId);
    for (const { id } of planned) expect((await getRun(id)).deploymentVersionId).toBe(b.versionId);

    // The first one falls due and is claimed; from then on no redeploy moves it.
    const due = planned[0]?.id as string;
    await api.server.sql`UPDATE flow_runs SET expected_start_time = now() - interval '1 second' WHERE id = ${due}`;
    const before = await getRun(due);
    const [claimed] = await claim(worker, pool);
    expect(claimed.flowRun.id).toBe(due);
    await setState(due, 1, 'RUNNING');
    const c = await deploy(api.owner, {
      ...base,
      retries: 1,
      source: oci('c'),
      schedules: [{ slug: 'minutely', intervalSeconds: 60 }],
    });
    await setState(due, 1, 'FAILED');
    const retried = await getRun(due);
    expect(retried).toMatchObject({ attempt: 2, deploymentVersionId: b.versionId, scheduledTime: before.scheduledTime });
    expect(retried.expectedStartTime).not.toBe(before.expectedStartTime);
    // The runs still waiting moved on to C.
    expect((await getRun(planned[1]?.id as string)).deploymentVersionId).toBe(c.versionId);
    const [retry] = await claim(worker, pool);
    expect(retry.deployment.source).toBe(oci('b'));
  });

  test('a subflow run carries its parent’s version, first due time and schedule', async () => {
    const { pool, deployment } = await pinned();
    const parent = await createRun(api.owner, deployment.id);
    const [claimed] = await claim(worker, pool);
    const asRun = client(api.server, claimed.token);
    await asRun('POST', `/flow-runs/${parent.id}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    const res = await asRun('POST', `/flow-runs/${parent.id}/child-runs`, {
      body: { id: randomUUID(), flowName: unique('child'), parameters: {}, attempt: 1 },
    });
    expect(res.status).toBe(201);
    const [child, parentRun] = [await getRun(res.body.flowRun.id), await getRun(parent.id)];
    expect(child).toMatchObject({
      deploymentVersionId: deployment.versionId,
      sourceDigest: digest('a'),
      scheduledTime: parentRun.scheduledTime,
      scheduleId: null,
    });
  });

  test('backfill runs are pinned to the version of their creation and carry the schedule they fill', async () => {
    const { deployment } = await pinned({ schedules: [{ slug: 'daily', cron: '0 6 * * *' }] });
    const res = await api.owner('POST', `/deployments/${deployment.id}/backfills`, {
      // Room for both: a backfill creates its runs as earlier ones finish, here at once.
      body: { start: '2025-03-05T00:00:00Z', end: '2025-03-07T00:00:00Z', maxConcurrent: 2 },
    });
    expect(res.status).toBe(201);
    const [schedule] = await api.server.sql<
      { id: string }[]
    >`SELECT id FROM deployment_schedules WHERE deployment_id = ${deployment.id}`;
    const runs = await api.server.sql<
      { id: string }[]
    >`SELECT id FROM flow_runs WHERE backfill_id = ${res.body.id} ORDER BY expected_start_time`;
    expect(runs).toHaveLength(2);
    const first = await getRun(runs[0]?.id as string);
    expect(first).toMatchObject({
      deploymentVersionId: deployment.versionId,
      scheduleId: schedule?.id,
      scheduledTime: '2025-03-05T06:00:00.000Z',
    });
  });
});
