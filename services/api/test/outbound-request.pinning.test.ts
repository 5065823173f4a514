import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type HostResolver, OutboundRefused } from '../src/outbound/address.js';
import { OutboundFailure, outboundRequest } from '../src/outbound/request.js';

// The only receiver is on 127.0.0.1; every other address in this file is refused before a socket opens.

let server: Server;
let port: number;
const seen: { path: string; host: string | undefined; headers: IncomingHttpHeaders }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ path: req.url ?? '', host: req.headers.host, headers: req.headers });
    if (req.url === '/redirect') {
      res.writeHead(302, { location: `http://127.0.0.1:${port}/redirected` }).end();
      return;
    }
    if (req.url === '/big') {
      res.writeHead(200).end('x'.repeat(100_000));
      return;
    }
    if (req.url === '/slow') return; // never answers
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** A resolver that answers from a table and counts its calls, as a rebinding DNS server would answer. */
function tableResolver(table: Record<string, string[]>): HostResolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = async (name: string) => {
    calls.push(name);
    return (table[name] ?? []).map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolver, { calls });
}

const base = { timeoutMs: 5000, maxResponseBytes: 4096 };

describe('the pinned dialler', () => {
  test('a name resolving to loopback is refused without the allowance, before any connection', async () => {
    const resolver = tableResolver({ 'rebind.test': ['127.0.0.1'] });
    const before = seen.length;
    const error = await outboundRequest(`http://rebind.test:${port}/never`, { ...base, allowance: 'none', resolver }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(OutboundRefused);
    expect((error as Error).message).toBe('rebind.test resolves to 127.0.0.1, which is loopback (127.0.0.0/8)');
    expect(seen.length).toBe(before);
  });

  test('the connection goes to the address that was checked, with the name as the Host header, resolved once', async () => {
    // The name exists nowhere but in this resolver: the request can only have reached the pinned address.
    const resolver = tableResolver({ 'hooks.pinned.test': ['127.0.0.1'] });
    const res = await outboundRequest(`http://hooks.pinned.test:${port}/pinned`, {
      ...base,
      method: 'POST',
      body: '{}',
      allowance: 'loopback',
      resolver,
    });
    expect(res.status).toBe(200);
    expect(res.body.toString()).toBe('ok');
    expect(seen.at(-1)).toMatchObject({ path: '/pinned', host: `hooks.pinned.test:${port}` });
    expect(resolver.calls).toEqual(['hooks.pinned.test']);
  });

  test('a name with a loopback and a private address is refused whole under the loopback allowance', async () => {
    const resolver = tableResolver({ 'split.test': ['127.0.0.1', '10.9.9.9'] });
    await expect(
      outboundRequest(`http://split.test:${port}/split`, { ...base, allowance: 'loopback', resolver }),
    ).rejects.toThrow('split.test resolves to 10.9.9.9, which is a private-use network (10.0.0.0/8)');
    expect(seen.some((r) => r.path === '/split')).toBe(false);
  });

  test('IP literals in every spelling are refused before a socket opens', async () => {
    for (const raw of [`http://2130706433:${port}/lit`, `http://0x7f.1:${port}/lit`, `http://[::ffff:127.0.0.1]:${port}/lit`]) {
      await expect(outboundRequest(raw, { ...base, allowance: 'none' })).rejects.toBeInstanceOf(OutboundRefused);
    }
    expect(seen.some((r) => r.path === '/lit')).toBe(false);
  });

  test('a redirect is an answer, not followed', async () => {
    const res = await outboundRequest(`http://127.0.0.1:${port}/redirect`, { ...base, allowance: 'loopback' });
    expect(res.status).toBe(302);
    expect(seen.some((r) => r.path === '/redirected')).toBe(false);
  });

  test('an oversized answer is cut at the limit and marked truncated', async () => {
    const res = await outboundRequest(`http://127.0.0.1:${port}/big`, { ...base, maxResponseBytes: 1000, allowance: 'loopback' });
    expect(res.truncated).toBe(true);
    expect(res.body.length).toBe(1000);
  });

  test('a receiver that does not answer in time is a failure naming the deadline', async () => {
    const error = await outboundRequest(`http://127.0.0.1:${port}/slow`, {
      ...base,
      timeoutMs: 200,
      allowance: 'loopback',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OutboundFailure);
    expect((error as Error).message).toBe('no answer within 0.2 s');
  });

  test('schemes other than http and https are not dialled', async () => {
    await expect(outboundRequest('file:///etc/passwd', { ...base, allowance: 'private-networks' })).rejects.toBeInstanceOf(
      OutboundRefused,
    );
  });
});
