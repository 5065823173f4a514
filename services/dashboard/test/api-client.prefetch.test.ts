import { beforeEach, describe, expect, it } from 'vitest';
import { ApiClient } from '../src/api/client.js';
import { RUNS_PAGE_SIZE } from '../src/api/first-reads.js';
import { filtersFromSearch, listQuery } from '../src/lib/run-filters.js';
import { serveForTests } from './http-server.support.js';

const POOL = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'default',
  description: null,
  paused: false,
  concurrencyLimit: null,
  createdAt: '2026-03-01T12:00:00.000Z',
};

const seen: string[] = [];

const stub = serveForTests((req, res) => {
  seen.push(`${req.method} ${req.url}`);
  if (req.url === '/api/v1/work-pools') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ items: [{ ...POOL, description: `read ${seen.length}` }] }));
    return;
  }
  res.writeHead(404, { 'content-type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'https://outpost.dev/problems/not_found', title: 'Not found', status: 404, code: 'not_found' }));
});

beforeEach(() => {
  seen.length = 0;
});

describe("prefetching a page's first reads", () => {
  it('hands the prefetched answer to the first identical call only, which sends no request of its own', async () => {
    const api = new ApiClient({ baseUrl: stub.url });
    api.prefetch('poolsList', {});
    const first = await api.call('poolsList', {});
    const second = await api.call('poolsList', {});
    expect(first).toMatchObject({ ok: true, data: { items: [{ description: 'read 1' }] } });
    expect(second).toMatchObject({ ok: true, data: { items: [{ description: 'read 2' }] } });
    expect(seen).toEqual(['GET /api/v1/work-pools', 'GET /api/v1/work-pools']);
  });

  it('does not serve a read of another URL from it', async () => {
    const api = new ApiClient({ baseUrl: stub.url });
    api.prefetch('flowRunsGet', { params: { id: 'one' } });
    const other = await api.call('flowRunsGet', { params: { id: 'two' } });
    expect(other).toMatchObject({ ok: false, status: 404 });
    expect(seen.sort()).toEqual(['GET /api/v1/flow-runs/one', 'GET /api/v1/flow-runs/two']);
  });

  it("asks for the runs page's first page at the URL the runs page reads", () => {
    const api = new ApiClient({ baseUrl: stub.url });
    const page = listQuery(filtersFromSearch(new URLSearchParams()), null, RUNS_PAGE_SIZE, Date.now());
    expect(api.url('flowRunsList', { query: page })).toBe(api.url('flowRunsList', { query: { limit: RUNS_PAGE_SIZE } }));
  });
});
