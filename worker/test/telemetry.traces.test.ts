import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { OtlpReceiver, ReceivedSpan, TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { FlowRun } from '@outpost/sdk/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WorkerHandle } from '../src/worker.js';
import { startOtlpReceiver, startTestServer } from './support/api-testing.js';
import { buildDemoBundle } from './support/bundle.js';
import { expectNoLiveChildren } from './support/leaks.js';
import { startTestWorker } from './support/test-worker.js';
import { waitFor } from './support/wait.js';

const FIXTURE = new URL('./fixtures/flows/traced.ts', import.meta.url).pathname;
const PARAMETER = 'parameter-value-okapi-5521';

/*
 * One run's trace end to end: the real API, a real worker and a real flow process, all exporting to
 * an OTLP/HTTP receiver on loopback. The worker's attempt span is the root, the flow process
 * continues it from TRACEPARENT, and each task run is a span under the flow's.
 */
describe('traces of a run exported over OTLP', () => {
  let receiver: OtlpReceiver;
  let server: TestServer;
  let owner: OutpostClient;
  let worker: WorkerHandle;
  let bundle: { dir: string; source: string; entrypoint: string };
  let scratch: string;
  let workerKey: string;
  let deploymentId: string;

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_BSP_SCHEDULE_DELAY: '50' };
    // The API and the worker share this process (and its provider); the flow process gets the worker's variables.
    Object.assign(process.env, otel);
    server = await startTestServer();
    owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
    bundle = await buildDemoBundle(FIXTURE, 'traced');
    scratch = mkdtempSync(join(tmpdir(), 'outpost-worker-traces-'));
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: { flowName: 'traced', name: 'nightly', source: bundle.source, entrypoint: bundle.entrypoint, workPool: 'default' },
      }),
    );
    deploymentId = deployment.id;
    workerKey = await server.createKey('worker', ['default']);
    worker = await startTestWorker({
      apiUrl: server.url,
      apiKey: workerKey,
      scratch,
      args: ['--name', 'traces-worker', '--heartbeat-interval', '300ms', '--poll-wait', '1s', '--prestart', '0'],
      env: { OUTPOST_API_KEY: workerKey, ...otel },
    });
  });

  afterAll(async () => {
    await worker?.stop({ graceMs: 0 });
    await owner?.close();
    await server?.close();
    await receiver?.close();
    delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
    delete process.env.OTEL_BSP_SCHEDULE_DELAY;
    if (bundle) rmSync(bundle.dir, { recursive: true, force: true });
    if (scratch) rmSync(scratch, { recursive: true, force: true });
    await expectNoLiveChildren();
  });

  function span(predicate: (s: ReceivedSpan) => boolean, what: string): Promise<ReceivedSpan> {
    return waitFor(() => receiver.spans.find(predicate) ?? null, 30_000, what);
  }

  it('makes one trace of a run: the attempt span parents the flow span, which parents each task span', async () => {
    const runId = unwrap(
      await owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: { parameters: { word: PARAMETER } } }),
    ).flowRun.id;
    const run = await waitFor(
      async () => {
        const current: FlowRun = unwrap(await owner.call('flowRunsGet', { params: { id: runId } }));
        return ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'].includes(current.state.type) ? current : null;
      },
      90_000,
      'the run to end',
    );
    expect(run.state.type).toBe('COMPLETED');

    const attempt = await span(
      (s) => s.name === 'run traced/nightly' && s.attributes['outpost.run_id'] === runId,
      'the attempt span',
    );
    expect(attempt.parentSpanId).toBeUndefined();
    expect(attempt.attributes).toMatchObject({ 'outpost.attempt': 1, 'outpost.pool': 'default', 'outpost.state': 'COMPLETED' });

    const flowSpan = await span((s) => s.name === 'flow traced' && s.traceId === attempt.traceId, 'the flow span');
    expect(flowSpan.parentSpanId).toBe(attempt.spanId);
    expect(flowSpan.serviceName).toBe('outpost-flow');
    expect(flowSpan.attributes).toMatchObject({ 'outpost.run_id': runId, 'outpost.state': 'COMPLETED' });

    const extract = await span((s) => s.name === 'task extract' && s.traceId === attempt.traceId, 'the extract task span');
    const load = await span((s) => s.name === 'task load' && s.traceId === attempt.traceId, 'the load task span');
    for (const task of [extract, load]) {
      expect(task.parentSpanId).toBe(flowSpan.spanId);
      expect(task.attributes['outpost.state']).toBe('COMPLETED');
      expect(typeof task.attributes['outpost.task_run_id']).toBe('string');
    }
    expect(load.events).toEqual([{ name: 'retry', attributes: { 'outpost.run_count': 2 } }]);
    expect(load.attributes['outpost.run_count']).toBe(2);

    // The worker's calls for the run continue its trace: the API's request spans are children of the attempt's.
    const setState = await span(
      (s) => s.name === 'POST /api/v1/flow-runs/:id/set-state' && s.traceId === attempt.traceId,
      'the set-state request span in the run trace',
    );
    expect(setState.parentSpanId).toBe(attempt.spanId);
    expect(setState.attributes['http.response.status_code']).toBe(200);

    // The API's side of it: the claim that handed the run over, under the request that made it.
    const claim = await span((s) => s.name === 'claim default' && s.attributes['outpost.claimed'] === 1, 'the claim span');
    const claimRequest = await span((s) => s.spanId === claim.parentSpanId, 'the claim request span');
    expect(claimRequest.name).toBe('POST /api/v1/work-pools/:pool/claim');
    expect(claimRequest.attributes['http.response.status_code']).toBe(200);

    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain(PARAMETER);
    expect(exported).not.toContain(PARAMETER.toUpperCase());
    expect(exported).not.toContain(workerKey);
  });

  it('keeps OpenTelemetry out of flow bundles, since the runner the worker starts brings it', () => {
    const code = readFileSync(join(bundle.dir, 'flows', 'traced.mjs'), 'utf8');
    expect(code).toContain('task(');
    expect(code).not.toContain('@opentelemetry');
  });
});
