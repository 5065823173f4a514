import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { GZIP_FROM } from '../src/http/encoded.js';
import { DASHBOARD_CSP } from '../src/http/static.js';
import { startTestServer, type TestServer } from '../src/testing/index.js';

let server: TestServer;
let bare: TestServer;
let root: string;

const INDEX = '<!doctype html><html><head><script type="module" src="./assets/app-3f9a.js"></script></head><body></body></html>';
const SCRIPT = `console.log(${JSON.stringify('x'.repeat(4000))});`;
/** Just under the size from which bodies are gzipped. */
const SMALL = `// ${'y'.repeat(GZIP_FROM - 5)}\n`;
/** Bytes of a file type that is already compressed, large enough to be gzipped were it text. */
const PICTURE = Buffer.alloc(4 * GZIP_FROM, 7);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'outpost-static-'));
  const dist = join(root, 'dist');
  mkdirSync(join(dist, 'assets'), { recursive: true });
  writeFileSync(join(dist, 'index.html'), INDEX);
  writeFileSync(join(dist, 'assets', 'app-3f9a.js'), SCRIPT);
  writeFileSync(join(dist, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(dist, 'assets', 'small-1a2b.js'), SMALL);
  writeFileSync(join(dist, 'assets', 'logo-5e6f.png'), PICTURE);
  writeFileSync(join(root, 'secret.txt'), 'not for the web');
  server = await startTestServer({ loops: false, dashboardDir: dist });
  bare = await startTestServer({ loops: false, dashboardDir: null });
});
afterAll(async () => {
  await server?.close();
  await bare?.close();
  rmSync(root, { recursive: true, force: true });
});

const get = (path: string, headers: Record<string, string> = {}, target = () => server) =>
  target().app.request(path, { headers });

describe('the dashboard files', () => {
  test('/ is index.html, revalidated on every load, under a strict content security policy', async () => {
    const res = await get('/');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(INDEX);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
        "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
  });

  test('unknown paths outside /api get the page too, since routing lives in the hash', async () => {
    for (const path of ['/runs', '/deployments/etl/nightly', '/index.html']) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(await res.text()).toBe(INDEX);
    }
  });

  test('hashed assets are cached for a year, compressed on request, and revalidated by ETag', async () => {
    const plain = await get('/assets/app-3f9a.js');
    expect(plain.status).toBe(200);
    expect(plain.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(plain.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(await plain.text()).toBe(SCRIPT);
    const zipped = await get('/assets/app-3f9a.js', { 'accept-encoding': 'gzip, br' });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    const bytes = Buffer.from(await zipped.arrayBuffer());
    expect(bytes.length).toBeLessThan(SCRIPT.length / 10);
    expect(gunzipSync(bytes).toString()).toBe(SCRIPT);
    const etag = plain.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    const again = await get('/assets/app-3f9a.js', { 'if-none-match': etag });
    expect(again.status).toBe(304);
    const icon = await get('/favicon.svg');
    expect(icon.headers.get('content-type')).toBe('image/svg+xml');
    expect(icon.headers.get('cache-control')).toBe('no-cache');
  });

  test('files under the gzip threshold, and pictures of any size, are sent as they are even to a client that takes gzip', async () => {
    expect(SMALL.length).toBe(GZIP_FROM - 1);
    const small = await get('/assets/small-1a2b.js', { 'accept-encoding': 'gzip' });
    expect(small.headers.get('content-encoding')).toBeNull();
    expect(await small.text()).toBe(SMALL);
    const picture = await get('/assets/logo-5e6f.png', { 'accept-encoding': 'gzip' });
    expect(picture.headers.get('content-type')).toBe('image/png');
    expect(picture.headers.get('content-encoding')).toBeNull();
    expect(Buffer.from(await picture.arrayBuffer()).equals(PICTURE)).toBe(true);
  });

  test('a missing asset is a 404, not the page', async () => {
    const res = await get('/assets/app-0000.js');
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('<html');
  });

  test('nothing outside the dashboard folder can be read', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/..%2fsecret.txt', '/assets/..%2f..%2fsecret.txt', '/%00']) {
      const res = await get(path);
      expect(await res.text(), path).not.toContain('not for the web');
    }
  });

  test('HEAD answers like GET without a body', async () => {
    const res = await server.app.request('/', { method: 'HEAD' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await res.text()).toBe('');
  });
});

describe('API paths are never the page', () => {
  test('an unknown API path is a 401 without a credential and a 404 problem with one', async () => {
    for (const path of ['/api/v1/whatever', '/api', '/api/', '/api/v2/runs']) {
      const res = await get(path);
      expect(res.status, path).toBe(401);
      expect(res.headers.get('content-type')).toContain('application/problem+json');
    }
    const known = await get('/api/v1/whatever', { authorization: `Bearer ${server.ownerKey}` });
    expect(known.status).toBe(404);
    expect(((await known.json()) as { code: string }).code).toBe('not_found');
    expect((await get('/api/v1/flow-runs')).status).toBe(401);
  });

  test('other methods outside /api are not answered with the page', async () => {
    const res = await server.app.request('/', { method: 'POST' });
    expect(res.status).toBe(404);
    expect(await res.text()).not.toContain('<html');
  });
});

test('without a built dashboard, / explains how to build it', async () => {
  const res = await get('/', {}, () => bare);
  expect(res.status).toBe(404);
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(await res.text()).toContain('npm run build -w @outpost/dashboard');
  expect((await get('/api/v1/whatever', {}, () => bare)).status).toBe(401);
});
