import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EndedCall, isRetryable, OutpostClient } from '../src/client/index.js';

describe('OutpostClient.call', () => {
  let server: Server;
  let requests = 0;
  let client: OutpostClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/problem+json', 'retry-after': '1' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Unavailable', status: 503, code: 'unavailable' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new OutpostClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'op_x' });
  });

  afterAll(async () => {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('throws for a missing path parameter, sending nothing, instead of reporting a retryable network error', async () => {
    const before = requests;
    await expect(client.call('flowRunsGet', { params: {} as { id: string } })).rejects.toThrow(/missing path parameter "id"/);
    expect(requests).toBe(before);
  });

  it('still returns a server failure as a result that says whether a retry may help', async () => {
    const result = await client.call('flowRunsGet', { params: { id: '00000000-0000-4000-8000-000000000001' } });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result).toMatchObject({ kind: 'http_error', status: 503, retryAfterMs: 1000 });
    expect(isRetryable(result)).toBe(true);
  });
});

describe('OutpostClient.call with a shared signal', () => {
  it('adds one listener to the caller’s signal however many calls share it, and still aborts them all', async () => {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        '{"workspace":{"id":"00000000-0000-4000-8000-000000000001","slug":"a","name":"A","createdAt":"2026-01-01T00:00:00.000Z"},"principal":{"kind":"api_key","id":"00000000-0000-4000-8000-000000000002","role":"owner"}}',
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const client = new OutpostClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'op_x' });
    const shared = new AbortController();
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const results = await Promise.all(Array.from({ length: 50 }, () => client.call('whoami', {}, { signal: shared.signal })));
      expect(results.every((r) => r.ok)).toBe(true);
      expect(getEventListeners(shared.signal, 'abort').length).toBeLessThanOrEqual(1);
      expect(warnings).not.toContain('MaxListenersExceededWarning');
      const pending = client.call('whoami', {}, { signal: shared.signal, timeoutMs: 60_000 });
      shared.abort(new Error('stop'));
      expect(await pending).toMatchObject({ ok: false, kind: 'network_error' });
    } finally {
      process.off('warning', onWarning);
      await client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('OutpostClient onCallEnded', () => {
  it('is told of every call with its route, result and duration, also by a client made withToken, and of an abort as one', async () => {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(503, { 'content-type': 'application/problem+json' });
      res.end(JSON.stringify({ type: 'about:blank', title: 'Unavailable', status: 503, code: 'unavailable' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const ended: EndedCall[] = [];
    const client = new OutpostClient({
      baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: 'op_x',
      onCallEnded: (call) => ended.push(call),
    });
    try {
      await client.call('whoami', {});
      await client.withToken('run-token').call('flowRunsGet', { params: { id: '00000000-0000-4000-8000-000000000001' } });
      const aborted = new AbortController();
      aborted.abort();
      await client.call('whoami', {}, { signal: aborted.signal });
      expect(ended.map((c) => [c.route, c.result.ok ? 'ok' : c.result.kind, c.aborted])).toEqual([
        ['whoami', 'http_error', false],
        ['flowRunsGet', 'http_error', false],
        ['whoami', 'network_error', true],
      ]);
      expect(ended.every((c) => c.seconds >= 0 && c.seconds < 30)).toBe(true);
    } finally {
      await client.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('OutpostClient.call against a newer server', () => {
  const whoami = {
    workspace: { id: '00000000-0000-4000-8000-000000000001', slug: 'a', name: 'A', createdAt: '2026-01-01T00:00:00.000Z' },
    principal: { kind: 'api_key', id: '00000000-0000-4000-8000-000000000002', role: 'owner' },
  };
  const pool = {
    id: '00000000-0000-4000-8000-000000000003',
    name: 'default',
    description: null,
    paused: false,
    concurrencyLimit: null,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  let answers: Record<string, unknown>;
  let server: Server;
  let client: OutpostClient;

  beforeAll(async () => {
    server = createServer((req, res) => {
      req.resume();
      const body = answers[req.url?.replace(/\?.*$/, '') ?? ''];
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body ?? { type: 'about:blank', title: 'Not Found', status: 404, code: 'not_found' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new OutpostClient({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, token: 'op_x' });
  });
  afterAll(async () => {
    await client.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('reads answers carrying fields it does not know, at the top, nested and in list items, and leaves them out', async () => {
    answers = {
      '/api/v1/whoami': { ...whoami, region: 'eu', workspace: { ...whoami.workspace, plan: { tier: 'team' } } },
      '/api/v1/work-pools': { items: [{ ...pool, autoscale: true }, pool], next: 'cursor' },
    };
    const me = await client.call('whoami', {});
    expect(me.ok && me.data).toEqual(whoami);
    const pools = await client.call('poolsList', {});
    expect(pools.ok && pools.data).toEqual({ items: [pool, pool] });
  });

  it('still refuses an answer missing a field or with a field of the wrong type, naming it, even beside unknown fields', async () => {
    const { slug: _slug, ...noSlug } = whoami.workspace;
    answers = { '/api/v1/whoami': { ...whoami, region: 'eu', workspace: noSlug } };
    const missing = await client.call('whoami', {});
    expect(missing).toMatchObject({ ok: false, kind: 'invalid_response' });
    expect(!missing.ok && missing.kind === 'invalid_response' && missing.message).toMatch(/workspace\.slug/);
    answers = { '/api/v1/whoami': { ...whoami, principal: { ...whoami.principal, role: 42, scope: 'x' } } };
    const wrong = await client.call('whoami', {});
    expect(!wrong.ok && wrong.kind === 'invalid_response' && wrong.message).toMatch(/principal\.role/);
  });
});
