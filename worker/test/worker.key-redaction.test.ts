import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REDACTED } from '../src/redact.js';
import { buildDemoBundle } from './support/bundle.js';
import { FakeApi } from './support/fake-api.js';
import { LoopbackServer } from './support/loopback-server.js';
import { useWorkerOnFakeApi } from './support/worker-on-fake-api.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/flows/leaky-keys.ts', import.meta.url));
const SCRIPT = fileURLToPath(new URL('./fixtures/scripts/leak-keys.py', import.meta.url));
const PYTHON_CLIENT = fileURLToPath(new URL('../../sdk/python/outpost_pipes.py', import.meta.url));
const TOKEN = 'hf_k3y-redaction_Zx81/Qp+t';
/** The forms of the token the flows and the Python script could let slip. */
const FORMS = [
  TOKEN,
  Buffer.from(TOKEN).toString('base64'),
  Buffer.from(TOKEN).toString('hex'),
  encodeURIComponent(TOKEN),
  JSON.stringify(TOKEN).slice(1, -1),
];

interface Received {
  method: string;
  path: string;
  body: Record<string, unknown>;
}

/**
 * The scripted control plane (FakeApi) behind a recorder: every request the worker sends is kept,
 * and the routes FakeApi does not serve (subflow runs, events, artifacts, asset events, waits) are
 * answered here as the contracts say. Everything else goes on to FakeApi.
 */
class RecordingApi extends LoopbackServer {
  readonly fake = new FakeApi();
  readonly received: Received[] = [];
  private readonly children = new Set<string>();

  override async start(): Promise<void> {
    await this.fake.start();
    await super.start();
  }

  override async close(): Promise<void> {
    await super.close();
    await this.fake.close();
  }

  /** What was sent to `method path` (a regular expression over the path), bodies only. */
  sent(method: string, path: RegExp): Array<Record<string, unknown>> {
    return this.received.filter((r) => r.method === method && path.test(r.path)).map((r) => r.body);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks);
    const body = raw.length ? (JSON.parse(raw.toString('utf8')) as Record<string, unknown>) : {};
    const path = (req.url ?? '').replace(/^\/api\/v1/, '').replace(/\?.*$/, '');
    const method = req.method ?? 'GET';
    this.received.push({ method, path, body });
    const now = new Date().toISOString();
    const runOf = /^\/flow-runs\/([^/]+)\//.exec(path)?.[1];

    if (method === 'POST' && /^\/flow-runs\/[^/]+\/child-runs$/.test(path)) {
      const parent = this.fake.runs.get(runOf!)!.claimed.flowRun;
      const id = body.id as string;
      this.children.add(id);
      const state = { type: 'RUNNING', name: 'Running', message: null, timestamp: now, data: null };
      const flowRun = {
        ...parent,
        id,
        name: `child-${id.slice(0, 8)}`,
        flowName: body.flowName,
        parameters: body.parameters,
        state,
      };
      return this.json(res, 201, { flowRun, created: true });
    }
    if (runOf && this.children.has(runOf)) {
      if (path.endsWith('/set-state')) {
        const proposed = body.state as { type: string; name?: string };
        const state = { type: proposed.type, name: proposed.name ?? proposed.type, message: null, timestamp: now, data: null };
        return this.json(res, 200, { status: 'ACCEPT', state, attempt: 1, reason: null, waitSeconds: null });
      }
      if (path.endsWith('/task-runs/batch')) {
        return this.json(res, 200, { applied: (body.events as unknown[]).length, duplicates: 0, refused: [] });
      }
      if (path.endsWith('/logs')) return this.json(res, 200, { accepted: (body.logs as unknown[]).length, duplicates: 0 });
    }
    if (method === 'POST' && path === '/events') {
      return this.json(res, 202, { ids: (body.events as Array<{ id?: string }>).map((e) => e.id ?? randomUUID()) });
    }
    if (method === 'POST' && /^\/flow-runs\/[^/]+\/artifacts$/.test(path)) {
      const artifact = {
        id: body.id,
        key: body.key,
        type: body.type,
        description: body.description ?? null,
        data: body.data,
        flowRunId: runOf,
        taskRunId: body.taskRunId ?? null,
        createdAt: now,
        updatedAt: now,
      };
      return this.json(res, 201, { artifact });
    }
    if (method === 'GET' && path.endsWith('/asset-gate')) return this.json(res, 200, { blocked: [], materialized: [] });
    if (method === 'POST' && path.endsWith('/asset-events')) {
      return this.json(res, 200, { recorded: (body.events as unknown[]).length });
    }
    if (method === 'POST' && /^\/flow-runs\/[^/]+\/waits$/.test(path)) {
      // The job has ended by the time the wait is made: it resolves at once, with the job's outcome.
      const wait = {
        id: randomUUID(),
        flowRunId: runOf,
        flowRunName: 'leaky',
        key: body.key,
        spec: body.spec,
        status: 'RESOLVED',
        createdAt: now,
        expiresAt: null,
        resolvedAt: now,
        value: { state: 'succeeded', result: 'done' },
        poll: null,
      };
      return this.json(res, 200, { wait });
    }
    const forwarded = await fetch(`${this.fake.url}${req.url ?? ''}`, {
      method,
      headers: { 'content-type': 'application/json', authorization: req.headers.authorization ?? '' },
      ...(raw.length ? { body: raw } : {}),
    });
    res.writeHead(forwarded.status, { 'content-type': forwarded.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await forwarded.arrayBuffer()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }
}

describe('what a flow process and its Pipes child send through the worker', () => {
  let bundle: { dir: string; source: string; entrypoint: string };
  const suite = useWorkerOnFakeApi('key-redaction', async () => {
    bundle = await buildDemoBundle(FIXTURE, 'leaky-keys');
    // What `outpost deploy` ships beside the code: the script, and the Python client for Pipes.
    mkdirSync(join(bundle.dir, 'scripts'));
    copyFileSync(SCRIPT, join(bundle.dir, 'scripts', 'leak-keys.py'));
    mkdirSync(join(bundle.dir, '.outpost', 'python'), { recursive: true });
    copyFileSync(PYTHON_CLIENT, join(bundle.dir, '.outpost', 'python', 'outpost_pipes.py'));
    return { api: new RecordingApi(), args: ['--prestart', '0'], env: { API_TOKEN: TOKEN }, cleanup: [bundle.dir] };
  });

  const run = async (flowName: string) => {
    const id = suite.api.fake.enqueue({
      source: bundle.source,
      entrypoint: bundle.entrypoint,
      flowName,
      jobVariables: { env: { API_TOKEN: { $secret: 'API_TOKEN' }, ASSET_DIR: join(suite.scratch, 'assets') } },
    });
    const outcome = await suite.outcomeOf(id);
    const lines = [...suite.api.fake.runs.get(id)!.logs.values()].map((l) => l.message);
    return { id, outcome, lines };
  };

  const expectNothingSecretSent = () => {
    const everything = JSON.stringify(suite.api.received);
    for (const form of FORMS) expect(everything).not.toContain(form);
  };

  it('masks secret keys and values of asset metadata and check results a Python Pipes process reported', async () => {
    const { outcome, lines } = await run('assets');
    expect(outcome, lines.join('\n')).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    const events = suite.api.sent('POST', /\/asset-events$/).flatMap((b) => b.events as Array<Record<string, unknown>>);
    const materialization = events.find((e) => e.kind === 'materialization');
    expect(materialization?.metadata).toMatchObject({
      [REDACTED]: 1,
      value: REDACTED,
      nested: { [`k-${REDACTED}`]: [REDACTED] },
      [`js-${REDACTED}`]: REDACTED,
    });
    const check = events.find((e) => e.kind === 'check');
    expect(check).toMatchObject({ checkName: 'reported_ok', passed: true, metadata: { [REDACTED]: REDACTED } });
    expectNothingSecretSent();
  });

  it("masks secret keys and values of an event's payload, an artifact, a subflow's parameters and a deferred job's label and link", async () => {
    const { outcome, lines } = await run('leaky');
    expect(outcome, lines.join('\n')).toMatchObject({ ending: 'reported', state: 'COMPLETED' });
    const [emitted] = suite.api.sent('POST', /^\/events$/).flatMap((b) => b.events as Array<Record<string, unknown>>);
    expect(emitted).toMatchObject({
      kind: 'leak.keys',
      resource: { kind: 'model', id: `m-${REDACTED}` },
      payload: { [REDACTED]: 1, value: REDACTED },
    });
    const [table] = suite.api.sent('POST', /\/artifacts$/).filter((a) => a.type === 'table');
    expect(table?.data).toEqual({ columns: [REDACTED], rows: [[REDACTED]] });
    const [created] = suite.api.sent('POST', /\/child-runs$/);
    expect(created).toMatchObject({ flowName: 'leaky-child', parameters: { [REDACTED]: REDACTED } });
    const waits = suite.api.sent('POST', /\/waits$/);
    expect(waits.map((w) => w.spec)).toEqual([
      {
        kind: 'external',
        job: 'leaky-job',
        handle: { id: 42 },
        pollSeconds: 30,
        label: 'Leaky job',
        link: `https://jobs.example/runs/42?token=${REDACTED}`,
      },
    ]);
    expect(lines).toContain('the deferred job returned done');
    // A handle the poll hands back to the job cannot be masked: the wait is refused, and the flow told why.
    expect(lines.find((l) => l.startsWith('the deferred job with a secret handle: '))).toContain(
      "the deferred job's handle holds a secret value",
    );
    expectNothingSecretSent();
  });
});
