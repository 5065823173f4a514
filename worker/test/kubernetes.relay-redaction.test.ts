import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { OutpostClient } from '@outpost/sdk/client';
import type { ClaimedRun } from '@outpost/sdk/contracts';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Attempt } from '../src/executors/executor.js';
import { relayKey, relayToken } from '../src/executors/kubernetes/relay-protocol.js';
import { RelayLink, RelayServer } from '../src/executors/kubernetes/relay-server.js';
import { relayIdentity } from '../src/executors/kubernetes/relay-tls.js';
import { RunReport } from '../src/executors/report.js';
import { REDACTED } from '../src/redact.js';

/*
 * A pod's runtime messages come to the worker over the relay and go on to the run's report, which
 * redacts them like a local flow process's. The pod is played by a raw TLS client here, as in
 * kubernetes.relay.test.ts; the API by a server that records what reaches it.
 */
const log = pino({ level: 'silent' });
const KEY = relayKey('op_relay_redaction_key');
const IDENTITY = relayIdentity(KEY, 'relay-redaction-worker');
const SECRET = 'pod-s3cret-Rk2/Lw+9';

type Frame = Record<string, unknown>;

describe('runtime messages a pod sends over the relay', () => {
  let api: Server;
  let apiUrl: string;
  const received: Array<{ path: string; body: Record<string, unknown> }> = [];
  let relay: RelayServer;
  let port: number;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'outpost-relay-redaction-'));
    api = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
        received.push({ path: (req.url ?? '').replace(/^\/api\/v1/, ''), body });
        res.writeHead(202, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ids: [randomUUID()] }));
      });
    });
    await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
    apiUrl = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    relay = new RelayServer(KEY, () => IDENTITY, { host: '127.0.0.1', port: 0 }, log, 600_000);
    port = (await relay.start()).port;
  });

  afterAll(async () => {
    await relay?.close();
    api?.closeAllConnections();
    await new Promise<void>((r) => (api ? api.close(() => r()) : r()));
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it("reach the API with a secret masked in an event payload's keys and values", async () => {
    const runId = randomUUID();
    let link: RelayLink | null = null;
    const client = new OutpostClient({ baseUrl: apiUrl, token: 'op_worker_key_for_tests' });
    const claimed = {
      flowRun: { id: runId, attempt: 1, state: { type: 'RUNNING', name: 'Running' } },
      token: 'run-token',
    } as unknown as ClaimedRun;
    const report = new RunReport(claimed, {
      client,
      options: { spoolDir: join(scratch, 'spool'), logBatchSize: 100, logBatchMs: 50 },
      logger: log,
      baseEnv: {},
      leaseMs: () => 30_000,
      signal: new AbortController().signal,
      stopReason: () => null,
      requestStop: () => {},
      lose: () => {},
      attempt: () => ({ send: (m: unknown) => link?.send(m) }) as unknown as Attempt,
    });
    report.maskSecrets([SECRET]);
    link = new RelayLink(runId, 1, (m) => report.sink.message(m), { entry: 'flow.mjs', env: {}, files: async () => [] }, log);
    relay.register(link);

    const pod = await podSession(port);
    pod.send({ t: 'hello', runId, attempt: 1, token: relayToken(KEY, runId, 1), session: null, received: 0, hasBundle: false });
    await pod.frame((f) => f.t === 'bundle');
    pod.send({
      t: 'msg',
      seq: 1,
      m: {
        t: 'rpc',
        id: 1,
        method: 'emitEvent',
        body: { event: { kind: 'pod.leaked', payload: { [SECRET]: 1, value: SECRET, nested: { [`k-${SECRET}`]: [SECRET] } } } },
      },
    });
    // The worker's reply travels back over the relay once the API answered.
    const reply = await pod.frame((f) => f.t === 'msg' && (f.m as Frame).t === 'reply');
    expect(reply.m).toMatchObject({ t: 'reply', id: 1, ok: true });

    expect(received.map((r) => r.path)).toEqual(['/events']);
    expect(received[0]?.body).toEqual({
      events: [{ kind: 'pod.leaked', payload: { [REDACTED]: 1, value: REDACTED, nested: { [`k-${REDACTED}`]: [REDACTED] } } }],
    });
    expect(JSON.stringify(received)).not.toContain(SECRET);
    pod.socket.destroy();
    relay.unregister(link);
    await report.finish({ reason: 'lost', message: 'test over' }, null);
    await client.close();
  });
});

/** A TLS client of the relay that records every frame it receives. */
async function podSession(port: number) {
  const socket: TLSSocket = connectTls({ host: '127.0.0.1', port, rejectUnauthorized: false });
  const frames: Frame[] = [];
  const waiters: Array<{ match: (f: Frame) => boolean; resolve: (f: Frame) => void }> = [];
  let buffered = '';
  socket.on('data', (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
      const frame = JSON.parse(buffered.slice(0, nl)) as Frame;
      buffered = buffered.slice(nl + 1);
      frames.push(frame);
      for (const waiter of waiters.filter((w) => w.match(frame))) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(frame);
      }
    }
  });
  socket.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    socket.once('secureConnect', () => resolve());
    socket.once('error', reject);
  });
  return {
    socket,
    send: (frame: Frame) => socket.write(`${JSON.stringify(frame)}\n`),
    frame: (match: (f: Frame) => boolean): Promise<Frame> => {
      const seen = frames.find(match);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiters.push({ match, resolve }));
    },
  };
}
