import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployDemoFlows } from './support/bundle.js';
import { type DemoWorker, startDemoWorker } from './support/demo-worker.js';
import { waitFor } from './support/wait.js';

describe('a worker with --prefetch claims runs ahead of their due time and starts each when it is due', () => {
  let demo: DemoWorker;
  let hello = '';

  beforeAll(async () => {
    demo = await startDemoWorker({ name: 'prefetcher', args: ['--limit', '4', '--prefetch', '30s'] });
    hello = (await deployDemoFlows(demo.owner, demo.bundle, ['hello'], 'prefetch')).get('hello')!;
  });

  afterAll(async () => {
    await demo?.close();
  });

  const scheduleIn = async (ms: number) => {
    const body = { scheduledTime: new Date(Date.now() + ms).toISOString() };
    return unwrap(await demo.owner.call('deploymentsCreateRun', { params: { id: hello }, body })).flowRun.id;
  };
  /** The run's due time and state history, on the database's clock. */
  const history = async (runId: string) => {
    const [run] = await demo.server.sql<{ due: Date; start: Date | null; state: string }[]>`
      SELECT expected_start_time AS due, start_time AS start, state_type AS state FROM flow_runs WHERE id = ${runId}`;
    const states = await demo.server.sql<{ type: string; at: Date }[]>`
      SELECT type, timestamp AS at FROM flow_run_states WHERE flow_run_id = ${runId} ORDER BY timestamp, id`;
    if (!run) throw new Error(`no run ${runId}`);
    return { ...run, states };
  };
  const claimedAhead = (runId: string) =>
    waitFor(
      async () => {
        const run = await history(runId);
        return run.state === 'PENDING' ? run : null;
      },
      30_000,
      `run ${runId} to be claimed ahead of its due time`,
    );

  /** Waits for the worker to end the run as cancelled, and checks it never started, well before its due time. */
  const endedCancelledUnstarted = async (runId: string) => {
    const ended = await waitFor(() => demo.outcomes.find((o) => o.runId === runId), 30_000, `run ${runId} to be cancelled`);
    expect(ended.ending).toBe('cancel');
    const run = await history(runId);
    expect(run.state).toBe('CANCELLED');
    expect(run.states.map((s) => s.type)).not.toContain('RUNNING');
    expect(run.start).toBeNull();
    expect(run.states.at(-1)?.at.getTime()).toBeLessThan(run.due.getTime());
  };

  it('holds the run PENDING until it is due, then runs it, never before', async () => {
    const runId = await scheduleIn(4_000);
    const claimed = await claimedAhead(runId);
    const pendingAt = claimed.states.find((s) => s.type === 'PENDING')?.at;
    expect(pendingAt?.getTime()).toBeLessThan(claimed.due.getTime());
    const ended = await waitFor(() => demo.outcomes.find((o) => o.runId === runId), 60_000, `run ${runId} to end`);
    expect(ended.state).toBe('COMPLETED');
    const run = await history(runId);
    expect(run.states.map((s) => s.type)).toEqual(['SCHEDULED', 'PENDING', 'RUNNING', 'COMPLETED']);
    expect(run.start?.getTime()).toBeGreaterThanOrEqual(run.due.getTime());
  });

  it('cancels a run waiting for its due time without starting its flow', async () => {
    const runId = await scheduleIn(20_000);
    await claimedAhead(runId);
    const answer = unwrap(
      await demo.owner.call('flowRunsCancel', { params: { id: runId }, body: { transitionId: randomUUID() } }),
    );
    expect(answer.state.type).toBe('CANCELLING');
    await endedCancelledUnstarted(runId);
  });

  it('ends the runs it holds for their due time CANCELLED, unstarted, when their deployment is paused', async () => {
    const deployments = await deployDemoFlows(demo.owner, demo.bundle, ['hello'], 'prefetch-scheduled', {
      schedules: [{ slug: 'every-20s', intervalSeconds: 20 }],
    });
    const deploymentId = deployments.get('hello')!;
    // The scheduler fills the schedule ahead; the worker claims what falls due within its 30 s. A run
    // due within seconds may start before the pause lands, as it should: only those further off count.
    const held = await waitFor(
      async () => {
        const rows = await demo.server.sql<{ id: string }[]>`
          SELECT id FROM flow_runs WHERE deployment_id = ${deploymentId} AND state_type = 'PENDING'
            AND expected_start_time > now() + interval '5 seconds'`;
        return rows.length > 0 ? rows.map((r) => r.id) : null;
      },
      60_000,
      'a scheduled run to be claimed well ahead of its due time',
    );
    unwrap(await demo.owner.call('deploymentsPause', { params: { id: deploymentId } }));
    for (const runId of held) await endedCancelledUnstarted(runId);
  });

  it('hands a run waiting for its due time back to the queue when the worker drains, without waiting for it', async () => {
    const runId = await scheduleIn(30_000);
    const claimed = await claimedAhead(runId);
    // The database says PENDING once the claim commits, a moment before its answer reaches the
    // worker; a drain in that moment abandons the claim (the lease then expires). Drain once the
    // worker holds the run.
    await waitFor(() => demo.worker.runs.some((r) => r.runId === runId) || null, 30_000, `the worker to hold run ${runId}`);
    await demo.worker.stop({ graceMs: 60_000 });
    const run = await history(runId);
    expect(run.state).toBe('SCHEDULED');
    expect(run.due.getTime()).toBe(claimed.due.getTime());
    expect(run.states.map((s) => s.type)).toEqual(['SCHEDULED', 'PENDING', 'SCHEDULED']);
    // The drain did not hold the run until its due time (a grace of 60 s would have let it).
    expect(run.states.at(-1)?.at.getTime()).toBeLessThan(run.due.getTime());
  });
});

/**
 * A control plane that lies about due times: a real HTTP proxy in front of the API that says every
 * claimed run is due in ten minutes. The worker holds a run no longer than its own --prefetch.
 */
async function lyingProxy(target: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const headers = Object.fromEntries(
      Object.entries(req.headers).filter(([name]) => !['host', 'connection', 'content-length'].includes(name)),
    ) as Record<string, string>;
    const method = req.method ?? 'GET';
    const answer = await fetch(`${target}${req.url ?? '/'}`, {
      method,
      headers,
      ...(method === 'GET' || method === 'HEAD' ? {} : { body: Buffer.concat(chunks) }),
    });
    let body = Buffer.from(await answer.arrayBuffer());
    // The runs' claim only, not the sensor ticks' or the deferred jobs' claims.
    if (/\/work-pools\/[^/]+\/claim$/.test(req.url ?? '') && answer.ok) {
      const claim = JSON.parse(body.toString()) as { runs: { dueInMs?: number }[] };
      for (const run of claim.runs) run.dueInMs = 600_000;
      body = Buffer.from(JSON.stringify(claim));
    }
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('a control plane cannot make a prefetching worker hold a run past its own --prefetch', () => {
  let demo: DemoWorker;

  beforeAll(async () => {
    demo = await startDemoWorker({ name: 'told-to-wait', args: ['--prefetch', '3s'], between: lyingProxy });
  });

  afterAll(async () => {
    await demo?.close();
  });

  it('runs a run the claim says is due in ten minutes within its own three seconds', async () => {
    const hello = (await deployDemoFlows(demo.owner, demo.bundle, ['hello'], 'told-to-wait')).get('hello')!;
    const body = { scheduledTime: new Date(Date.now() + 2_000).toISOString() };
    const runId = unwrap(await demo.owner.call('deploymentsCreateRun', { params: { id: hello }, body })).flowRun.id;
    // Ten minutes is far past this wait: the run ends only if the worker kept to its own bound.
    const ended = await waitFor(() => demo.outcomes.find((o) => o.runId === runId), 60_000, `run ${runId} to end`);
    expect(ended.state).toBe('COMPLETED');
    const [run] = await demo.server.sql<{ due: Date; start: Date }[]>`
      SELECT expected_start_time AS due, start_time AS start FROM flow_runs WHERE id = ${runId}`;
    expect(run?.start.getTime()).toBeGreaterThanOrEqual(run?.due.getTime() ?? Number.POSITIVE_INFINITY);
  });
});
