import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CSRF_HEADER } from '@outpost/sdk/contracts';
import { beforeEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../src/api/client.js';
import { serveForTests } from './http-server.support.js';

const CSRF = 'csrf-token-1234';
const POOL = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'default',
  description: null,
  paused: true,
  concurrencyLimit: null,
  createdAt: '2026-03-01T12:00:00.000Z',
};

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const seen: Seen[] = [];
let signedIn = true;

function problem(status: number, code: string, title: string) {
  return JSON.stringify({ type: `https://outpost.dev/problems/${code}`, title, status, code });
}

// behaves like the API's session rules: cookie session, and a CSRF header equal to the csrf cookie on mutations
const stub = serveForTests((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => {
    body += chunk.toString();
  });
  req.on('end', () => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const send = (status: number, payload: string, type = 'application/problem+json') => {
      res.writeHead(status, { 'content-type': type });
      res.end(payload);
    };
    if (!signedIn) return send(401, problem(401, 'unauthenticated', 'Sign in required'));
    if (req.method !== 'GET' && req.headers[CSRF_HEADER] !== CSRF) {
      return send(403, problem(403, 'forbidden', 'Missing or wrong CSRF token'));
    }
    if (req.method === 'GET' && req.url === '/api/v1/work-pools') {
      return send(200, JSON.stringify({ items: [POOL] }), 'application/json');
    }
    if (req.method === 'PATCH' && req.url === '/api/v1/work-pools/default') {
      return send(200, JSON.stringify({ ...POOL, ...JSON.parse(body) }), 'application/json');
    }
    if (req.method === 'GET' && req.url === '/api/v1/whoami') {
      return send(200, JSON.stringify({ workspace: { id: 'not-a-uuid' } }), 'application/json');
    }
    if (req.method === 'DELETE' && req.url === '/api/v1/auth/session') {
      res.writeHead(204);
      return res.end();
    }
    send(404, problem(404, 'not_found', 'Not found'));
  });
});

beforeEach(() => {
  seen.length = 0;
  signedIn = true;
});

function client(options: { cookie?: string; onUnauthenticated?: () => void } = {}) {
  return new ApiClient({
    baseUrl: stub.url,
    readCookie: (name) => (name === 'outpost_csrf' ? options.cookie : undefined),
    onUnauthenticated: options.onUnauthenticated,
  });
}

describe('dashboard API client', () => {
  it('echoes the csrf cookie in the CSRF header on a mutation and parses the answer with the contract', async () => {
    const result = await client({ cookie: CSRF }).call('poolsUpdate', { params: { pool: 'default' }, body: { paused: false } });
    expect(result).toEqual({ ok: true, status: 200, data: { ...POOL, paused: false } });
    expect(seen[0]?.headers[CSRF_HEADER]).toBe(CSRF);
    expect(seen[0]?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ paused: false });
  });

  it('sends no CSRF header on reads', async () => {
    const result = await client({ cookie: CSRF }).call('poolsList', {});
    expect(result.ok).toBe(true);
    expect(seen[0]?.headers[CSRF_HEADER]).toBeUndefined();
    expect(seen[0]?.headers.accept).toBe('application/json');
  });

  it('sends the header on DELETE too and accepts an empty 204', async () => {
    const result = await client({ cookie: CSRF }).call('authSessionDelete', {});
    expect(result).toEqual({ ok: true, status: 204, data: null });
    expect(seen[0]?.headers[CSRF_HEADER]).toBe(CSRF);
  });

  it('reports the server refusing a mutation without the csrf cookie', async () => {
    const result = await client().call('poolsUpdate', { params: { pool: 'default' }, body: { paused: true } });
    expect(seen[0]?.headers[CSRF_HEADER]).toBeUndefined();
    expect(result).toMatchObject({ ok: false, kind: 'http_error', status: 403, problem: { code: 'forbidden' } });
  });

  it('sends the user to sign in once on a 401 and returns the problem', async () => {
    signedIn = false;
    let redirects = 0;
    const result = await client({ cookie: CSRF, onUnauthenticated: () => redirects++ }).call('poolsList', {});
    expect(result).toMatchObject({ ok: false, kind: 'http_error', status: 401, problem: { code: 'unauthenticated' } });
    expect(redirects).toBe(1);
  });

  it('leaves a 401 to the sign-in page itself', async () => {
    signedIn = false;
    let redirects = 0;
    const result = await client({ onUnauthenticated: () => redirects++ }).call('authSessionCreate', {
      body: { apiKey: 'op_wrong' },
      allowUnauthenticated: true,
    });
    expect(result).toMatchObject({ ok: false, status: 401 });
    expect(redirects).toBe(0);
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({ apiKey: 'op_wrong' });
  });

  it('calls a response that breaks the contract invalid, naming the field', async () => {
    const result = await client().call('whoami', {});
    expect(result).toMatchObject({ ok: false, kind: 'invalid_response', status: 200 });
    if (!result.ok && result.kind === 'invalid_response') expect(result.message).toMatch(/^workspace\./);
  });

  it('turns an unreachable API into a network error instead of throwing', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const result = await new ApiClient({ baseUrl: `http://127.0.0.1:${port}` }).call('poolsList', {});
    expect(result).toMatchObject({ ok: false, kind: 'network_error' });
  });

  it('encodes path parameters and skips empty query values', async () => {
    await client().call('flowRunsList', {
      query: { limit: 10, state: 'FAILED,CRASHED', tag: undefined, flow: '', cursor: 'a b/c' },
    });
    expect(seen[0]?.url).toBe('/api/v1/flow-runs?limit=10&state=FAILED%2CCRASHED&cursor=a+b%2Fc');
    await client().call('flowRunsGet', { params: { id: '../../x' } });
    expect(seen[1]?.url).toBe('/api/v1/flow-runs/..%2F..%2Fx');
  });

  it('ends a call whose page was left as a network error, sending nothing and no one to sign in', async () => {
    let redirects = 0;
    const left = new AbortController();
    left.abort();
    const result = await client({ onUnauthenticated: () => redirects++ }).call('poolsList', { signal: left.signal });
    expect(result).toMatchObject({ ok: false, kind: 'network_error' });
    expect(seen).toEqual([]);
    expect(redirects).toBe(0);
  });

  it('builds the URLs of routes that are not one JSON call from the route table', () => {
    expect(client().url('flowRunsEvents', {})).toBe(`${stub.url}/api/v1/flow-runs/events`);
    expect(client().url('auditLogExport', { query: { action: 'membersAdd', objectId: '' } })).toBe(
      `${stub.url}/api/v1/audit-log/export?action=membersAdd`,
    );
  });
});
