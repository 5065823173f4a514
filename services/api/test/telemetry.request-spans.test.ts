import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  type OtlpReceiver,
  type ReceivedSpan,
  startOtlpReceiver,
  startTestServer,
  type TestServer,
} from '../src/testing/index.js';
import { client, createRun, deploy, eventually } from './helpers.js';

let receiver: OtlpReceiver;
let server: TestServer;

beforeAll(async () => {
  receiver = await startOtlpReceiver();
  // Read by the SDK when the server starts its provider: export to the receiver, in small delays.
  process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
  process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
  process.env.OTEL_SERVICE_NAME = 'api-under-test';
  server = await startTestServer({ loops: false });
});
afterAll(async () => {
  await server?.close();
  await receiver?.close();
  delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
  delete process.env.OTEL_BSP_SCHEDULE_DELAY;
  delete process.env.OTEL_SERVICE_NAME;
});

function spanWhere(predicate: (span: ReceivedSpan) => boolean, what: string): Promise<ReceivedSpan> {
  return eventually(async () => receiver.spans.find(predicate), 15_000, what);
}

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const res = await fetch(`${server.url}/api/v1${path}`, { headers: { authorization: `Bearer ${server.ownerKey}`, ...headers } });
  await res.arrayBuffer();
  return res;
}

test('a request is a server span named by its route pattern, with its status and workspace, and never its ids', async () => {
  const owner = client(server, server.ownerKey);
  const deployment = await deploy(owner, { flowName: `spans-${randomUUID().slice(0, 8)}` });
  const run = await createRun(owner, deployment.id);
  expect((await get(`/flow-runs/${run.id}`)).status).toBe(200);

  const span = await spanWhere((s) => s.name === 'GET /api/v1/flow-runs/:id', 'the run read span');
  expect(span.kind).toBe(2);
  expect(span.serviceName).toBe('api-under-test');
  expect(span.attributes['http.request.method']).toBe('GET');
  expect(span.attributes['http.route']).toBe('/api/v1/flow-runs/:id');
  expect(span.attributes['http.response.status_code']).toBe(200);
  expect(span.attributes['outpost.workspace_id']).toBe(server.workspaceId);
  expect(span.status.code ?? 0).not.toBe(2);
  expect(receiver.bodies.join('\n')).not.toContain(run.id);
  expect(receiver.bodies.join('\n')).not.toContain(server.ownerKey);
});

test('a request that sends a traceparent is a child of the caller span', async () => {
  const traceId = randomUUID().replaceAll('-', '');
  const parentId = randomUUID().replaceAll('-', '').slice(0, 16);
  const missing = randomUUID();
  expect((await get(`/flow-runs/${missing}`, { traceparent: `00-${traceId}-${parentId}-01` })).status).toBe(404);

  const span = await spanWhere((s) => s.traceId === traceId, 'the span of the traced request');
  expect(span.parentSpanId).toBe(parentId);
  expect(span.name).toBe('GET /api/v1/flow-runs/:id');
  expect(span.attributes['http.response.status_code']).toBe(404);
  expect(receiver.bodies.join('\n')).not.toContain(missing);
});

test('a claim is a span under its request that records how many runs it claimed', async () => {
  const owner = client(server, server.ownerKey);
  const pool = `claims-${randomUUID().slice(0, 8)}`;
  expect((await owner('POST', '/work-pools', { body: { name: pool } })).status).toBe(201);
  const deployment = await deploy(owner, { flowName: pool, workPool: pool });
  await createRun(owner, deployment.id);
  const workerKey = await server.createKey('worker');
  const res = await fetch(`${server.url}/api/v1/work-pools/${pool}/claim`, {
    method: 'POST',
    headers: { authorization: `Bearer ${workerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ workerId: randomUUID(), limit: 5 }),
  });
  expect(res.status).toBe(200);
  expect(((await res.json()) as { runs: unknown[] }).runs).toHaveLength(1);

  const claimSpan = await spanWhere((s) => s.name === `claim ${pool}`, 'the claim span');
  expect(claimSpan.attributes['outpost.claimed']).toBe(1);
  const request = await spanWhere((s) => s.spanId === claimSpan.parentSpanId, 'the claim request span');
  expect(request.name).toBe('POST /api/v1/work-pools/:pool/claim');
  expect(request.traceId).toBe(claimSpan.traceId);
  expect(request.attributes['http.response.status_code']).toBe(200);
  expect(receiver.bodies.join('\n')).not.toContain(workerKey);
});
