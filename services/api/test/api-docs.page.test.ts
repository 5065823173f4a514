import { get } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { type RouteDef, routes, servedPath } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { API_DOCS_CSP } from '../src/http/docs-handlers.js';
import { tagOf } from '../src/http/openapi.js';
import { DASHBOARD_CSP } from '../src/http/static.js';
import { useServer } from './helpers.js';

const api = useServer();

type Document = {
  tags: { name: string }[];
  paths: Record<string, Record<string, { operationId: string; tags?: string[] }>>;
  components: { schemas: Record<string, unknown> };
};

/** Over real HTTP, without any credential. */
async function anonymous(path: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${api.server.url}${path}`, { headers });
  return { res, body: Buffer.from(await res.arrayBuffer()) };
}

/** As sent to a client that takes gzip: fetch decompresses by itself, node:http shows what was sent. */
function gzipped(path: string): Promise<{ encoding: string | undefined; body: Buffer }> {
  return new Promise((resolve, reject) => {
    get(`${api.server.url}${path}`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }));
    }).on('error', reject);
  });
}

describe('the OpenAPI document', () => {
  test('is served without a credential, and every operation is tagged with the resource its path names', async () => {
    const { res, body } = await anonymous('/api/v1/openapi.json');
    expect(res.status).toBe(200);
    const doc = JSON.parse(body.toString('utf8')) as Document;
    const operations = Object.values(doc.paths).flatMap((methods) => Object.values(methods));
    expect(operations).toHaveLength(Object.keys(routes).length);
    for (const op of operations) {
      const route: RouteDef = routes[op.operationId as keyof typeof routes];
      expect(op.tags, op.operationId).toEqual([tagOf(route)]);
    }
    const tagOfOperation = (id: string) => operations.find((op) => op.operationId === id)?.tags?.[0];
    expect(tagOfOperation('flowRunsGet')).toBe('Flow runs');
    expect(tagOfOperation('taskRunsBatch')).toBe('Task runs');
    expect(tagOfOperation('workersHeartbeat')).toBe('Workers');
    expect(tagOfOperation('queuesUpdate')).toBe('Work queues');
    expect(tagOfOperation('apiKeysCreate')).toBe('API keys');
    expect(tagOfOperation('apiDocs')).toBe('Documents');
    // The document lists each tag once, in the order the routes first name it.
    const used = [...new Set(operations.map((op) => op.tags?.[0]))];
    expect(doc.tags.map((t) => t.name).sort()).toEqual([...used].sort());
  });

  test('every reference in it points into the document (shared schemas live in its components)', async () => {
    const { body } = await anonymous('/api/v1/openapi.json');
    const text = body.toString('utf8');
    const doc = JSON.parse(text) as Document;
    const refs = [...text.matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1] as string);
    expect(refs.length).toBeGreaterThan(0);
    expect(text).not.toContain('"$defs"');
    for (const ref of new Set(refs)) {
      expect(ref, ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.slice('#/components/schemas/'.length)], ref).toBeDefined();
    }
    expect(doc.components.schemas.JsonValue).toBeDefined();
  });

  test('is the same bytes on every request, compressed when asked, and revalidated by its ETag', async () => {
    const first = await anonymous('/api/v1/openapi.json');
    const second = await anonymous('/api/v1/openapi.json');
    expect(first.res.headers.get('content-type')).toBe('application/json');
    expect(second.body.equals(first.body)).toBe(true);
    const etag = first.res.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    expect(second.res.headers.get('etag')).toBe(etag);

    const raw = await gzipped('/api/v1/openapi.json');
    expect(raw.encoding).toBe('gzip');
    expect(raw.body.length).toBeLessThan(first.body.length / 4);
    expect(gunzipSync(raw.body).equals(first.body)).toBe(true);

    const again = await anonymous('/api/v1/openapi.json', { 'if-none-match': etag });
    expect(again.res.status).toBe(304);
    expect(again.body.length).toBe(0);
  });
});

describe('the reference page at /api/docs', () => {
  test('is HTML without a credential that loads the reference script from this server and no inline script', async () => {
    const { res, body } = await anonymous('/api/docs');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('public, max-age=300');
    const html = body.toString('utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scripts.map((m) => m[1]?.trim())).toEqual([`src="${servedPath(routes.apiDocsScript)}"`]);
    expect(scripts.every((m) => m[2] === '')).toBe(true);
    expect(html).toContain('/api/v1/openapi.json');
    expect(html).not.toMatch(/https?:\/\//);
  });

  test('its script is served by this server, compressed when asked, and revalidated by its ETag', async () => {
    const plain = await anonymous('/api/docs/scalar.js');
    expect(plain.res.status).toBe(200);
    expect(plain.res.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const script = plain.body.toString('utf8');
    expect(script).toContain('@scalar/api-reference');
    expect(script.length).toBeGreaterThan(100_000);

    const raw = await gzipped('/api/docs/scalar.js');
    expect(raw.encoding).toBe('gzip');
    expect(raw.body.length).toBeLessThan(plain.body.length / 2);
    expect(gunzipSync(raw.body).equals(plain.body)).toBe(true);

    const etag = plain.res.headers.get('etag') ?? '';
    expect(etag).toMatch(/^".+"$/);
    const again = await anonymous('/api/docs/scalar.js', { 'if-none-match': etag });
    expect(again.res.status).toBe(304);
    expect(again.body.length).toBe(0);
  });

  test('the page and its script carry a policy of their own that allows inline styles only, and the dashboard keeps its stricter one', async () => {
    for (const path of ['/api/docs', '/api/docs/scalar.js']) {
      const { res } = await anonymous(path);
      expect(res.headers.get('content-security-policy'), path).toBe(API_DOCS_CSP);
    }
    const directives = Object.fromEntries(
      API_DOCS_CSP.split(';').map((d) => {
        const [name = '', ...values] = d.trim().split(/\s+/);
        return [name, values];
      }),
    );
    expect(directives['script-src']).toEqual(["'self'"]);
    expect(directives['connect-src']).toEqual(["'self'"]);
    expect(directives['default-src']).toEqual(["'none'"]);
    expect(directives['frame-ancestors']).toEqual(["'none'"]);
    const dashboard = await anonymous('/');
    expect(dashboard.res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).not.toContain('unsafe-inline');
  });

  test('look-alike paths under /api/docs are not served without a credential', async () => {
    for (const path of ['/api/docs/', '/api/docs/index.html', '/api/docs/scalar.js.map', '/api/docs/../v1/whoami']) {
      const { res } = await anonymous(path);
      expect(res.status, path).toBe(401);
    }
  });
});
