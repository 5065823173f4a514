import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { ClaimedRun, RouteName, TaskRunEvent } from '@outpost/sdk/contracts';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunApi } from '../src/executors/run-api.js';
import { Redactor } from '../src/redact.js';
import { TaskRunShipper } from '../src/ship-task-runs.js';
import { type RunApiServer, recording, startRunApiServer } from './support/run-api.js';

const logger = pino({ level: 'silent' });

/**
 * A real HTTP hop in front of the API that answers a state proposal carrying `taskRuns` the way an
 * API from before that field does (its strict schema names the unknown field), and passes every
 * other request through.
 */
async function olderServerIn(front: string): Promise<{ url: string; server: Server }> {
  const target = new URL(front);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (req.url?.endsWith('/set-state') && body.includes('"taskRuns"')) {
        res.writeHead(400, { 'content-type': 'application/problem+json' });
        res.end(
          JSON.stringify({
            type: 'about:blank',
            title: 'Validation failed',
            status: 400,
            code: 'validation_failed',
            detail: 'the request body is invalid',
            errors: [{ path: 'body.taskRuns', message: 'unknown field' }],
          }),
        );
        return;
      }
      const upstream = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe("a run's task-run events carried with its state proposal", () => {
  let api: RunApiServer;
  let server: TestServer;
  let owner: OutpostClient;
  let workerKey: string;
  let deploymentId: string;

  beforeAll(async () => {
    api = await startRunApiServer('carried');
    ({ server, owner, workerKey, deploymentId } = api);
  });

  afterAll(async () => {
    await api?.close();
  });

  /** A run claimed by a worker whose client (at `baseUrl`) records the routes it calls, RUNNING. */
  async function runningRun(baseUrl = server.url) {
    unwrap(await owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
    const real = new OutpostClient({ baseUrl, token: workerKey });
    const routes: RouteName[] = [];
    const worker = recording(real, routes);
    const { runs } = unwrap(
      await real.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 1 } }),
    );
    const run = runs[0] as ClaimedRun;
    const api = new RunApi(worker, run.flowRun.id, run.flowRun.attempt, run.token, logger, new AbortController().signal);
    unwrap(await api.proposeState({ type: 'RUNNING' }, 30_000));
    routes.length = 0;
    const shipper = new TaskRunShipper({
      api,
      redactor: () => new Redactor([]),
      logger,
      onStaleAttempt: () => {},
      runLog: () => {},
      batchMs: 60_000,
    });
    return { id: run.flowRun.id, api, shipper, routes, client: worker };
  }

  const created = (name: string): TaskRunEvent => ({
    kind: 'create',
    id: randomUUID(),
    name,
    taskKey: name,
    dynamicKey: '0',
    state: { type: 'RUNNING' },
    at: new Date().toISOString(),
  });
  const completed = (id: string): TaskRunEvent => ({
    kind: 'state',
    id,
    seq: 1,
    runCount: 1,
    state: { type: 'COMPLETED' },
    at: new Date().toISOString(),
  });

  async function taskStates(id: string): Promise<string[]> {
    const { items } = unwrap(await owner.call('taskRunsList', { params: { id }, query: {} }));
    return items.map((t) => `${t.name}:${t.state.type}`).sort();
  }

  it("sends a run's pending events and its end in one request, and settles them", async () => {
    const { id, api, shipper, routes } = await runningRun();
    const a = created('extract');
    shipper.push(id, a);
    shipper.push(id, completed(a.id));
    shipper.push(id, created('load'));
    const taken = shipper.takeForRequest(id);
    expect(taken?.events.map((e) => e.kind)).toEqual(['create', 'create']);
    const answer = await api.proposeState({ type: 'COMPLETED' }, 30_000, randomUUID(), id, undefined, undefined, taken?.events);
    taken?.done(answer.ok);
    expect(answer.ok && answer.data.state.type).toBe('COMPLETED');
    expect(shipper.pending).toBe(0);
    expect(await shipper.flush()).toBe(true);
    expect(routes).toEqual(['flowRunsSetState']);
    expect(await taskStates(id)).toEqual(['extract:COMPLETED', 'load:RUNNING']);
  });

  it('keeps events queued in order when the carrying request fails, and holds other sends until it is settled', async () => {
    const { id, shipper, routes } = await runningRun();
    const a = created('score');
    shipper.push(id, a);
    const taken = shipper.takeForRequest(id);
    expect(taken?.events).toHaveLength(1);
    // While the proposal is out, a later event waits behind it and a flush waits for the answer.
    shipper.push(id, completed(a.id));
    expect(shipper.takeForRequest(id)).toBeNull();
    const flushed = shipper.flush();
    taken?.done(false);
    expect(await flushed).toBe(true);
    expect(routes).toEqual(['taskRunsBatch']);
    expect(await taskStates(id)).toEqual(['score:COMPLETED']);
  });

  it("hands over nothing when another run's events wait in the queue", async () => {
    const { id, shipper } = await runningRun();
    const child = randomUUID();
    shipper.push(child, created('child-task'));
    shipper.push(id, created('own-task'));
    expect(shipper.takeForRequest(id)).toBeNull();
  });

  it('remembers for the worker a server that refuses the field, so later runs send their events on their own', async () => {
    const older = await olderServerIn(server.url);
    try {
      const first = await runningRun(older.url);
      expect(first.api.carriesTaskRuns).toBe(true);
      first.shipper.push(first.id, created('t'));
      const taken = first.shipper.takeForRequest(first.id);
      const refused = await first.api.proposeState(
        { type: 'COMPLETED' },
        30_000,
        randomUUID(),
        first.id,
        undefined,
        undefined,
        taken?.events,
      );
      taken?.done(refused.ok);
      expect(refused.ok).toBe(false);
      expect(first.api.refusedTaskRuns(refused)).toBe(true);
      expect(first.api.carriesTaskRuns).toBe(false);
      // Another run of the same worker (same client) learns it without asking again.
      const second = new RunApi(first.client, first.id, 1, 'unused', logger, new AbortController().signal);
      expect(second.carriesTaskRuns).toBe(false);
      // The events were not lost: they go in a batch of their own.
      expect(await first.shipper.flush()).toBe(true);
      expect(await taskStates(first.id)).toEqual(['t:RUNNING']);
    } finally {
      await new Promise((resolve) => older.server.close(resolve));
    }
  });
});
