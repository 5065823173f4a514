import { randomUUID } from 'node:crypto';
import type { CallResult } from '@outpost/sdk/client';
import { RpcRequest } from '@outpost/sdk/runtime';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RpcServer } from '../src/executors/rpc.js';
import type { RunApi } from '../src/executors/run-api.js';
import type { SubflowRuns } from '../src/executors/subflow-runs.js';
import { REDACTED, Redactor } from '../src/redact.js';
import type { LogShipper } from '../src/ship-logs.js';
import type { TaskRunShipper } from '../src/ship-task-runs.js';

const RUN = '00000000-0000-4000-8000-000000000001';
const SECRET = 'db-pa55word-Zq9/x+';
/** Every form of the secret a test looks for in what reached the API. */
const FORMS = [SECRET, Buffer.from(SECRET).toString('base64'), encodeURIComponent(SECRET)];

interface Sent {
  name: string;
  input: { params?: unknown; body?: Record<string, unknown> };
}

/** The run's API as the rpc server sees it: records every call and answers each with an empty success. */
function fakeApi() {
  const sent: Sent[] = [];
  const api = {
    runId: RUN,
    attempt: 1,
    async call(name: string, input: Sent['input']): Promise<CallResult<unknown>> {
      sent.push({ name, input });
      return { ok: true, status: 200, data: name === 'flowRunsCreateChild' ? { flowRun: { id: randomUUID() } } : {} };
    },
    async proposeState(state: unknown, _deadline: number, transitionId: string, runId: string) {
      sent.push({ name: 'flowRunsSetState', input: { params: { id: runId }, body: { transitionId, state } as never } });
      return { ok: true, status: 200, data: { status: 'ACCEPT', state } };
    },
  };
  return { api: api as unknown as RunApi, sent };
}

function server(secrets = [SECRET]) {
  const { api, sent } = fakeApi();
  const replies: Array<{ t: string; id: number; ok: boolean; error?: { message: string; code?: string } }> = [];
  const rpc = new RpcServer({
    api,
    shipper: { takeForRequest: () => null, flush: async () => true } as unknown as LogShipper,
    taskRuns: { flush: async () => true } as unknown as TaskRunShipper,
    subflows: { has: () => false, add: () => {}, flush: async () => true } as unknown as SubflowRuns,
    redactor: () => new Redactor(secrets),
    logger: pino({ level: 'silent' }),
    flushBeforeStateMs: 1_000,
    onState: () => {},
    onStaleAttempt: () => {},
  });
  let id = 0;
  /** Serves one request, as the worker does once it parsed it against the protocol. */
  const serve = async (method: string, body: unknown) => {
    const request = RpcRequest.parse({ t: 'rpc', id: ++id, method, body });
    const peer = {
      send: (m: unknown) => {
        replies.push(m as (typeof replies)[number]);
        return true;
      },
    };
    await rpc.serve(peer, request, false);
    return replies.find((r) => r.id === request.id)!;
  };
  return { serve, sent };
}

function expectNoSecret(value: unknown): void {
  const text = JSON.stringify(value);
  for (const form of FORMS) expect(text).not.toContain(form);
}

describe('the rpc server redacts keys and values of what a flow process sends to the API', () => {
  it("masks a state's name, its message and its data's keys and values", async () => {
    const { serve, sent } = server();
    const reply = await serve('setState', {
      transitionId: randomUUID(),
      state: { type: 'FAILED', name: `F-${SECRET}`, message: `login ${SECRET}`, data: { [SECRET]: 1, value: SECRET } },
    });
    expect(reply.ok).toBe(true);
    expect(sent[0]?.input.body?.state).toEqual({
      type: 'FAILED',
      name: `F-${REDACTED}`,
      message: `login ${REDACTED}`,
      data: { [REDACTED]: 1, value: REDACTED },
    });
    expectNoSecret(sent);
  });

  it("masks the keys and values of a subflow run's parameters", async () => {
    const { serve, sent } = server();
    const reply = await serve('createChildRun', {
      id: randomUUID(),
      flowName: 'child',
      parameters: { [SECRET]: 1, value: SECRET, nested: { [`dsn-${Buffer.from(SECRET).toString('base64')}`]: [SECRET] } },
    });
    expect(reply.ok).toBe(true);
    expect(sent[0]?.name).toBe('flowRunsCreateChild');
    expect(sent[0]?.input.body?.parameters).toEqual({
      [REDACTED]: 1,
      value: REDACTED,
      nested: { [`dsn-${REDACTED}`]: [REDACTED] },
    });
    expectNoSecret(sent);
  });

  it('masks the keys and values of asset materialisation and check metadata, and failure messages', async () => {
    const { serve, sent } = server();
    const reply = await serve('reportAssetEvents', {
      events: [
        {
          kind: 'materialization',
          id: randomUUID(),
          assetKey: 'w/clean',
          partitionKey: null,
          codeVersion: 'v1',
          dataVersion: null,
          metadata: { [SECRET]: 3, note: `with ${SECRET}` },
          durationMs: 5,
        },
        {
          kind: 'check',
          id: randomUUID(),
          assetKey: 'w/clean',
          checkName: 'fresh',
          partitionKey: null,
          materializationId: null,
          passed: true,
          severity: 'ERROR',
          blocking: false,
          metadata: { [`k-${SECRET}`]: { [SECRET]: SECRET } },
        },
        { kind: 'failure', id: randomUUID(), assetKey: 'w/raw', partitionKey: null, message: `refused ${SECRET}` },
      ],
    });
    expect(reply.ok).toBe(true);
    const events = sent[0]?.input.body?.events as Array<{ metadata?: unknown; message?: string }>;
    expect(events.map((e) => e.metadata ?? e.message)).toEqual([
      { [REDACTED]: 3, note: `with ${REDACTED}` },
      { [`k-${REDACTED}`]: { [REDACTED]: REDACTED } },
      `refused ${REDACTED}`,
    ]);
    expectNoSecret(sent);
  });

  it("masks a deployment run's parameter keys and values and its tags", async () => {
    const { serve, sent } = server();
    const reply = await serve('createDeploymentRun', {
      deployment: 'train/prod',
      key: 'wait-1',
      parameters: { [SECRET]: true, token: SECRET },
      tags: [`t-${SECRET}`, 'plain'],
    });
    expect(reply.ok).toBe(true);
    expect(sent[0]?.input.body).toMatchObject({
      deployment: 'train/prod',
      key: 'wait-1',
      parameters: { [REDACTED]: true, token: REDACTED },
      tags: [`t-${REDACTED}`, 'plain'],
    });
    expectNoSecret(sent);
  });

  it("masks a custom event's payload keys and values and its resources", async () => {
    const { serve, sent } = server();
    const reply = await serve('emitEvent', {
      event: {
        kind: 'demo.leaked',
        resource: { kind: 'model', id: `m-${SECRET}`, name: SECRET },
        related: [{ kind: 'db', id: SECRET }],
        payload: { [SECRET]: 1, value: SECRET, list: [{ [SECRET]: SECRET }] },
      },
    });
    expect(reply.ok).toBe(true);
    const [event] = (sent[0]?.input.body?.events ?? []) as unknown[];
    expect(event).toEqual({
      kind: 'demo.leaked',
      resource: { kind: 'model', id: `m-${REDACTED}`, name: REDACTED },
      related: [{ kind: 'db', id: REDACTED }],
      payload: { [REDACTED]: 1, value: REDACTED, list: [{ [REDACTED]: REDACTED }] },
    });
    expectNoSecret(sent);
  });

  it("masks an artifact's key, description and data", async () => {
    const { serve, sent } = server();
    const reply = await serve('createArtifact', {
      id: randomUUID(),
      key: 'report',
      type: 'table',
      description: `from ${SECRET}`,
      data: { columns: ['id', SECRET], rows: [[1, SECRET]] },
    });
    expect(reply.ok).toBe(true);
    expect(sent[0]?.input.body).toMatchObject({
      description: `from ${REDACTED}`,
      data: { columns: ['id', REDACTED], rows: [[1, REDACTED]] },
    });
    expectNoSecret(sent);
  });

  it("masks a deferred job's label and link and forwards a handle that holds no secret exactly", async () => {
    const { serve, sent } = server();
    const handle = { runId: 42, workspace: 'acme', nested: { job: 'nightly' } };
    const reply = await serve('createWait', {
      key: 'wait-1',
      spec: {
        kind: 'external',
        job: 'nightly-train',
        handle,
        pollSeconds: 30,
        label: `Databricks run as ${SECRET}`,
        link: `https://dbc.example/jobs/42?token=${encodeURIComponent(SECRET)}`,
      },
    });
    expect(reply.ok).toBe(true);
    expect(sent[0]?.input.body?.spec).toEqual({
      kind: 'external',
      job: 'nightly-train',
      handle,
      pollSeconds: 30,
      label: `Databricks run as ${REDACTED}`,
      link: `https://dbc.example/jobs/42?token=${REDACTED}`,
    });
    expectNoSecret(sent);
  });

  it('leaves out a deferred job link that is no URL once masked: the whole link was a secret', async () => {
    const hook = 'https://hooks.example/services/T00/B00/Xy7secret';
    const { serve, sent } = server([hook]);
    const reply = await serve('createWait', {
      key: 'wait-2',
      spec: { kind: 'external', job: 'j', handle: 1, pollSeconds: 30, label: 'Job', link: hook },
    });
    expect(reply.ok).toBe(true);
    expect(sent[0]?.input.body?.spec).toMatchObject({ link: null });
    expect(JSON.stringify(sent)).not.toContain(hook);
  });

  it("masks an approval's title, description and the keys and values of its form", async () => {
    const { serve, sent } = server();
    const reply = await serve('createWait', {
      key: 'approve',
      spec: {
        kind: 'approval',
        title: `Deploy with ${SECRET}?`,
        description: SECRET,
        form: { type: 'object', properties: { [SECRET]: { type: 'string', default: SECRET } } },
      },
    });
    expect(reply.ok).toBe(true);
    expect(sent[0]?.input.body?.spec).toEqual({
      kind: 'approval',
      title: `Deploy with ${REDACTED}?`,
      description: REDACTED,
      form: { type: 'object', properties: { [REDACTED]: { type: 'string', default: REDACTED } } },
    });
    expectNoSecret(sent);
  });
});

describe('the rpc server refuses what must reach the API exactly when it holds a secret', () => {
  const cases: Array<[string, string, unknown]> = [
    [
      "a deferred job's handle (a key)",
      'createWait',
      { key: 'w', spec: { kind: 'external', job: 'j', handle: { [SECRET]: 1 }, pollSeconds: 30, label: 'Job', link: null } },
    ],
    [
      "a deferred job's handle (a value)",
      'createWait',
      { key: 'w', spec: { kind: 'external', job: 'j', handle: [`run-${SECRET}`], pollSeconds: 30, label: 'Job', link: null } },
    ],
    [
      'a wait key',
      'createWait',
      { key: `w-${Buffer.from(SECRET).toString('hex')}`, spec: { kind: 'until', until: new Date().toISOString() } },
    ],
    ['a wait token', 'createWait', { key: 'w', spec: { kind: 'token', token: `t-${Buffer.from(SECRET).toString('hex')}` } }],
    [
      "an event wait's match",
      'createWait',
      { key: 'w', spec: { kind: 'event', event: 'a.b', match: `event.payload.pw == "${SECRET}"` } },
    ],
    ['a deployment run key', 'createDeploymentRun', { deployment: 'a/b', key: `k-${Buffer.from(SECRET).toString('hex')}` }],
    [
      'a recorded task result',
      'suspend',
      { waitId: randomUUID(), results: [{ taskRunId: randomUUID(), taskKey: `t-${SECRET}`, dynamicKey: '0', ref: 'run-1' }] },
    ],
    [
      "an asset event's partition key",
      'reportAssetEvents',
      { events: [{ kind: 'failure', id: randomUUID(), assetKey: 'a', partitionKey: `p-${SECRET}`, message: 'x' }] },
    ],
    ['a dynamic partition key', 'addDynamicPartitions', { name: 'customers', keys: ['acme', `c-${SECRET}`] }],
  ];

  it.each(cases)('refuses %s with a 400, sending nothing', async (_what, method, body) => {
    const { serve, sent } = server();
    const reply = await serve(method, body);
    expect(reply).toMatchObject({ ok: false, error: { code: 'validation_failed' } });
    expect(reply.error?.message).toContain('holds a secret value');
    expect(reply.error?.message).not.toContain(SECRET);
    expect(sent).toEqual([]);
  });
});
