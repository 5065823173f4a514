import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isRetryable, OutpostClient } from '../src/client/index.js';

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
