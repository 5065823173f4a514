import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClientCore, fetchTransport } from '../src/client/core.js';

const WHOAMI = {
  workspace: { id: '00000000-0000-4000-8000-000000000001', slug: 'a', name: 'A', createdAt: '2026-01-01T00:00:00.000Z' },
  principal: { kind: 'api_key', id: '00000000-0000-4000-8000-000000000002', role: 'owner' },
};

describe('the client core over fetch', () => {
  let server: Server;
  let baseUrl: string;
  const seen: IncomingMessage[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req);
      req.resume();
      if (req.url === '/api/v1/whoami') {
        res.writeHead(200, { 'content-type': 'application/json' });
        return res.end(JSON.stringify(WHOAMI));
      }
      if (req.url === '/api/v1/work-pools') {
        res.writeHead(429, { 'content-type': 'application/problem+json', 'retry-after': '2' });
        return res.end(JSON.stringify({ type: 'about:blank', title: 'Slow down', status: 429, code: 'rate_limited' }));
      }
      // anything else is held unanswered, for the timeout
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the headers it is given for the method and parses the answer with the route contract', async () => {
    const core = new ClientCore({
      baseUrl,
      transport: fetchTransport(),
      requestHeaders: (method) => ({ authorization: `Bearer op_${method.toLowerCase()}` }),
    });
    expect(await core.call('whoami', {})).toEqual({ ok: true, status: 200, data: WHOAMI });
    expect(seen.at(-1)?.headers.authorization).toBe('Bearer op_get');
    expect(seen.at(-1)?.headers.accept).toBe('application/json');
  });

  it('reads the problem and Retry-After of a refusal through the transport', async () => {
    const core = new ClientCore({ baseUrl, transport: fetchTransport() });
    const result = await core.call('poolsList', {});
    expect(result).toMatchObject({
      ok: false,
      kind: 'http_error',
      status: 429,
      retryAfterMs: 2000,
      problem: { code: 'rate_limited' },
    });
  });

  it('gives up on an unanswered call after its timeout, as a network error', async () => {
    const core = new ClientCore({ baseUrl, transport: fetchTransport(), timeoutMs: 200 });
    const result = await core.call('flowRunsGet', { params: { id: '00000000-0000-4000-8000-000000000003' } });
    expect(result).toMatchObject({ ok: false, kind: 'network_error', message: 'the request timed out' });
  });

  it('builds a route URL from the table without calling it', () => {
    const core = new ClientCore({ baseUrl, transport: fetchTransport() });
    expect(core.url('taskRunsList', { params: { id: 'a/b' }, query: { state: 'FAILED,CRASHED', name: undefined } })).toBe(
      `${baseUrl}api/v1/flow-runs/a%2Fb/task-runs?state=FAILED%2CCRASHED`,
    );
  });

  it('builds the address of a route served from the root, as the server mounts it, outside /api/v1', () => {
    const core = new ClientCore({ baseUrl, transport: fetchTransport() });
    expect(core.url('metrics', {})).toBe(`${baseUrl}metrics`);
    expect(core.url('jwks', {})).toBe(`${baseUrl}api/v1/.well-known/jwks.json`);
  });
});
