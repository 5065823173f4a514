import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { type Call, client, deploy, useServer } from './helpers.js';

let worker: Call;

const api = useServer({ loops: false, leaseSeconds: 10 });

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
});

/** A pool with a deployment defining `sensors`; its names and the sensors' ids by name. */
async function sensed(
  sensors: { name: string; intervalSeconds: number }[] = [{ name: 'files', intervalSeconds: 30 }],
  overrides: Record<string, unknown> = {},
) {
  const pool = `sense-${randomUUID().slice(0, 8)}`;
  await api.owner('POST', '/work-pools', { body: { name: pool } });
  const deployment = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, sensors, ...overrides });
  const listed = await api.owner('GET', `/sensors?deployment=${deployment.id}`);
  const ids = Object.fromEntries(listed.body.items.map((s: { name: string; id: string }) => [s.name, s.id]));
  return { pool, deployment, ids: ids as Record<string, string> };
}

async function claimTicks(pool: string, workerId = randomUUID(), limit = 5) {
  const res = await worker('POST', `/work-pools/${pool}/sensor-ticks/claim`, { body: { workerId, limit } });
  expect(res.status, res.text).toBe(200);
  return { workerId, ticks: res.body.ticks as { tickId: string; sensor: { id: string; cursor: string | null } }[] };
}

function complete(pool: string, tickId: string, body: Record<string, unknown>) {
  return worker('POST', `/work-pools/${pool}/sensor-ticks/${tickId}/complete`, { body });
}

/** Completes the claim's first tick with `outcome`, as the worker that claimed it. */
function completeFirst(
  pool: string,
  claim: Awaited<ReturnType<typeof claimTicks>>,
  outcome: Record<string, unknown>,
  extra: Record<string, unknown> = {},
) {
  return complete(pool, claim.ticks[0]!.tickId, { workerId: claim.workerId, outcome, ...extra });
}

async function runsOf(deploymentId: string): Promise<{ id: string; parameters: Record<string, unknown> }[]> {
  return api.server.sql`SELECT id, parameters FROM flow_runs WHERE deployment_id = ${deploymentId} ORDER BY created_at`;
}

describe('registration at deploy', () => {
  test('a redeploy keeps a kept sensor with its cursor, updates its interval and removes one no longer defined', async () => {
    const { pool, deployment, ids } = await sensed([
      { name: 'files', intervalSeconds: 30 },
      { name: 'old', intervalSeconds: 30 },
    ]);
    const { workerId, ticks } = await claimTicks(pool);
    const tick = ticks.find((t) => t.sensor.id === ids.files)!;
    await complete(pool, tick.tickId, { workerId, outcome: { status: 'ok', result: { cursor: 'c1' } } });
    await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, sensors: [{ name: 'files', intervalSeconds: 90 }] });
    const listed = await api.owner('GET', `/sensors?deployment=${deployment.id}`);
    expect(listed.body.items.map((s: { name: string }) => s.name)).toEqual(['files']);
    expect(listed.body.items[0]).toMatchObject({ id: ids.files, intervalSeconds: 90, cursor: 'c1' });
  });

  test('a sensor name defined twice is a 400 naming the second', async () => {
    const res = await api.owner('PUT', '/deployments', {
      body: {
        flowName: 'twice',
        name: 'd',
        source: `oci://127.0.0.1:5000/acme/flows@sha256:${'a'.repeat(64)}`,
        entrypoint: 'e.js',
        workPool: 'default',
        sensors: [
          { name: 'a', intervalSeconds: 5 },
          { name: 'a', intervalSeconds: 5 },
        ],
      },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'body.sensors.1.name', message: 'sensor names must be unique within a deployment' },
    ]);
  });

  test('a manual run cannot take a sensor idempotency key', async () => {
    const { deployment } = await sensed();
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: {},
      headers: { 'idempotency-key': 'sensor:x:y' },
    });
    expect(res.status).toBe(400);
  });
});

describe('the tick protocol', () => {
  test('a due sensor is claimed by one worker only, and not again while its lease holds', async () => {
    const { pool, ids } = await sensed();
    const results = await Promise.all(Array.from({ length: 5 }, () => claimTicks(pool)));
    const claimed = results.flatMap((r) => r.ticks);
    expect(claimed.map((t) => t.sensor.id)).toEqual([ids.files]);
    expect((await claimTicks(pool)).ticks).toEqual([]);
  });

  test('completing creates one run per run key, stores the cursor and makes the next tick due an interval later', async () => {
    const { pool, deployment, ids } = await sensed();
    const res = await completeFirst(
      pool,
      await claimTicks(pool),
      {
        status: 'ok',
        result: {
          runRequests: [
            { runKey: 'a.csv', parameters: { file: 'a.csv' } },
            { runKey: 'b.csv', parameters: { file: 'b.csv' }, tags: ['sensed'] },
            { runKey: 'a.csv', parameters: { file: 'again' } },
          ],
          cursor: 'b.csv',
        },
      },
      { logs: ['saw 2 files'] },
    );
    expect(res.status, res.text).toBe(200);
    expect(res.body).toMatchObject({ status: 'REQUESTED', cursorBefore: null, cursorAfter: 'b.csv', logs: ['saw 2 files'] });
    expect(res.body.runs.map((r: { runKey: string; created: boolean }) => [r.runKey, r.created])).toEqual([
      ['a.csv', true],
      ['b.csv', true],
    ]);
    const runs = await runsOf(deployment.id);
    expect(runs.map((r) => r.parameters)).toEqual([{ file: 'a.csv' }, { file: 'b.csv' }]);
    const [key] = await api.server.sql`SELECT idempotency_key FROM flow_runs WHERE id = ${runs[0]!.id}`;
    expect(key?.idempotency_key).toBe(`sensor:${ids.files}:a.csv`);
    const sensor = (await api.owner('GET', `/sensors/${ids.files}`)).body;
    expect(sensor).toMatchObject({ cursor: 'b.csv', leaseExpiresAt: null, lastTick: { status: 'REQUESTED', runCount: 2 } });
    expect(Date.parse(sensor.nextTickAt) - Date.now()).toBeGreaterThan(25_000);
    expect((await claimTicks(pool)).ticks).toEqual([]);
  });

  test('a worker whose lease ran out cannot complete; the next evaluation from the old cursor requests the same keys and creates nothing new', async () => {
    const { pool, deployment, ids } = await sensed();
    const first = await claimTicks(pool);
    // The first worker died mid-tick: its lease runs out.
    await api.server.sql`UPDATE sensors SET lease_expires_at = now() - interval '1 second' WHERE id = ${ids.files!}`;
    const second = await claimTicks(pool);
    expect(second.ticks.map((t) => t.sensor.cursor)).toEqual([null]);
    const late = await completeFirst(pool, first, { status: 'ok', result: { runRequests: [{ runKey: 'x' }], cursor: 'late' } });
    expect(late.status).toBe(409);
    const result = { runRequests: [{ runKey: 'x' }], cursor: 'x' };
    const done = await completeFirst(pool, second, { status: 'ok', result });
    expect(done.body.runs[0]).toMatchObject({ runKey: 'x', created: true });
    // A third evaluation that still asks for `x` (its cursor not yet past it) changes nothing.
    await api.owner('POST', `/sensors/${ids.files}/tick`);
    const third = await claimTicks(pool);
    const again = await completeFirst(pool, third, { status: 'ok', result });
    expect(again.body.runs[0]).toMatchObject({ runKey: 'x', created: false, flowRunId: done.body.runs[0].flowRunId });
    expect(await runsOf(deployment.id)).toHaveLength(1);
    const ticks = (await api.owner('GET', `/sensors/${ids.files}/ticks`)).body.items;
    expect(ticks.map((t: { status: string }) => t.status)).toEqual(['REQUESTED', 'REQUESTED', 'FAILED']);
    expect(ticks[2].error).toMatch(/stopped reporting before its lease ran out/);
  });

  test('only the worker holding the lease may complete the tick', async () => {
    const { pool } = await sensed();
    const { ticks } = await claimTicks(pool);
    const res = await complete(pool, ticks[0]!.tickId, { workerId: randomUUID(), outcome: { status: 'ok', result: {} } });
    expect(res.status).toBe(409);
    expect(res.body.detail).toBe('this tick is leased to another worker');
  });

  test('an error and a skip reason are recorded on the tick and the sensor, and an error keeps the cursor', async () => {
    const { pool, ids } = await sensed();
    let claim = await claimTicks(pool);
    await completeFirst(pool, claim, { status: 'ok', result: { skipReason: 'no new files', cursor: 'c' } });
    expect((await api.owner('GET', `/sensors/${ids.files}`)).body.lastTick).toMatchObject({
      status: 'SKIPPED',
      skipReason: 'no new files',
    });
    await api.owner('POST', `/sensors/${ids.files}/tick`);
    claim = await claimTicks(pool);
    expect(claim.ticks[0]!.sensor.cursor).toBe('c');
    await completeFirst(pool, claim, { status: 'error', error: "Error: ENOENT: no such file or directory, scandir '/nope'" });
    const sensor = (await api.owner('GET', `/sensors/${ids.files}`)).body;
    expect(sensor.cursor).toBe('c');
    expect(sensor.lastTick).toMatchObject({
      status: 'FAILED',
      error: "Error: ENOENT: no such file or directory, scandir '/nope'",
    });
  });

  test('a run request the deployment refuses fails the tick with the reason, keeps the cursor, and the other requests still make their runs', async () => {
    const { pool, deployment, ids } = await sensed(undefined, {
      parameterSchema: { type: 'object', properties: { file: { type: 'string' } }, required: ['file'] },
    });
    const res = await completeFirst(pool, await claimTicks(pool), {
      status: 'ok',
      result: {
        runRequests: [
          { runKey: 'good', parameters: { file: 'a' } },
          { runKey: 'bad', parameters: {} },
        ],
        cursor: 'z',
      },
    });
    expect(res.body.status).toBe('FAILED');
    expect(res.body.error).toMatch(/^1 of 2 run requests refused; run key 'bad': .*body\.parameters/);
    expect(res.body.cursorAfter).toBeNull();
    expect(await runsOf(deployment.id)).toHaveLength(1);
    expect((await api.owner('GET', `/sensors/${ids.files}`)).body.cursor).toBeNull();
  });

  test('a paused sensor is not claimed; resuming makes it due at once', async () => {
    const { pool, ids } = await sensed();
    expect((await api.owner('POST', `/sensors/${ids.files}/pause`)).body.paused).toBe(true);
    expect((await claimTicks(pool)).ticks).toEqual([]);
    expect((await api.owner('POST', `/sensors/${ids.files}/resume`)).body.paused).toBe(false);
    expect((await claimTicks(pool)).ticks.map((t) => t.sensor.id)).toEqual([ids.files]);
  });

  test("a tick of another pool is not found through this pool's route", async () => {
    const a = await sensed();
    const b = await sensed();
    const { workerId, ticks } = await claimTicks(a.pool);
    const res = await complete(b.pool, ticks[0]!.tickId, { workerId, outcome: { status: 'ok', result: {} } });
    expect(res.status).toBe(404);
  });
});
