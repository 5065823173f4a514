import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createLogger } from '../src/logger.js';
import { LeaseExpiryLoop } from '../src/loops/lease-expiry.js';
import { claim, client, createRun, deploy, useServer } from './helpers.js';

const api = useServer();

const line = (seq: number) => ({ seq, timestamp: new Date().toISOString(), level: 'info', message: `late ${seq}` });

describe('log lines that arrive after their attempt ended', () => {
  test('are stored for the worker key that ran the attempt, and refused to any other', async () => {
    const pool = `late-${randomUUID().slice(0, 8)}`;
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const { id: deploymentId } = await deploy(api.owner, { flowName: pool, name: 'd', workPool: pool, retries: 1 });
    await createRun(api.owner, deploymentId);
    const ranIt = client(api.server, await api.server.createKey('worker', [pool]));
    const stranger = client(api.server, await api.server.createKey('worker', [pool]));
    const [claimed] = await claim(ranIt, pool);
    const runId = claimed.flowRun.id as string;
    await client(api.server, claimed.token)('POST', `/flow-runs/${runId}/set-state`, {
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    });
    // The worker vanished (its lease ran out); the run crashed and waits for attempt 2, held by nobody.
    await api.server.sql`UPDATE flow_runs SET lease_expires_at = now() - interval '1 second' WHERE id = ${runId}`;
    await new LeaseExpiryLoop(api.server.sql, api.server.databaseUrl, createLogger('silent'), { graceSeconds: 0 }).tick();
    expect((await api.owner('GET', `/flow-runs/${runId}`)).body).toMatchObject({ attempt: 2, workerId: null });

    // The lines it had spooled arrive now: history of attempt 1, delivered by the key that ran it.
    const single = await ranIt('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: [line(1), line(2)] } });
    expect(single.status).toBe(200);
    expect(single.body).toEqual({ accepted: 2, duplicates: 0 });
    const batch = await ranIt('POST', `/work-pools/${pool}/runs/logs`, {
      body: { items: [{ flowRunId: runId, attempt: 1, logs: [line(3)] }] },
    });
    expect(batch.body.items[0]).toMatchObject({ accepted: 1, error: null });

    expect((await stranger('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 1, logs: [line(4)] } })).status).toBe(404);
    const refused = await stranger('POST', `/work-pools/${pool}/runs/logs`, {
      body: { items: [{ flowRunId: runId, attempt: 1, logs: [line(4)] }] },
    });
    expect(refused.body.items[0].error).toMatchObject({ status: 404 });
    // Lines of an attempt that has not happened yet cannot exist.
    expect((await ranIt('POST', `/flow-runs/${runId}/logs`, { body: { attempt: 3, logs: [line(1)] } })).status).toBe(409);
    const stored = (await api.owner('GET', `/flow-runs/${runId}/logs`)).body.items.map((l: { message: string }) => l.message);
    expect(stored).toEqual(['late 1', 'late 2', 'late 3']);
  });
});
