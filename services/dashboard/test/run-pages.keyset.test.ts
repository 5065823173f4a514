import type { FlowRun } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { filtersFromSearch, filtersKey, filtersToSearch, listQuery, runMatches } from '../src/lib/run-filters.js';
import { currentCursor, initialPages, MAX_LIVE_ROWS, type RunPages, runPagesReducer } from '../src/lib/run-pages.js';

const BASE = Date.parse('2026-03-01T12:00:00.000Z');

function run(n: number, overrides: Partial<FlowRun> = {}): FlowRun {
  const at = new Date(BASE + n * 1000).toISOString();
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    name: `run-${n}`,
    flowId: '00000000-0000-4000-8000-aaaaaaaaaaaa',
    flowName: 'train',
    deploymentId: '00000000-0000-4000-8000-bbbbbbbbbbbb',
    deploymentName: 'nightly',
    workPool: 'default',
    workQueue: 'default',
    parameters: {},
    tags: ['ml'],
    state: { type: 'SCHEDULED', name: 'Scheduled', message: null, timestamp: at, data: null },
    attempt: 1,
    maxRetries: 0,
    idempotencyKey: null,
    workerId: null,
    leaseExpiresAt: null,
    expectedStartTime: at,
    startTime: null,
    endTime: null,
    createdAt: at,
    updatedAt: at,
    ...overrides,
  };
}

/** Page `index` of a newest-first list of runs numbered total..1, with the server's cursor. */
function page(total: number, size: number, index: number) {
  const from = total - index * size;
  const items = Array.from({ length: Math.max(0, Math.min(size, from)) }, (_, i) => run(from - i));
  return { items, nextCursor: from - size > 0 ? `after-${from - size + 1}` : null };
}

function loaded(state: RunPages, total: number, size: number): RunPages {
  const p = page(total, size, state.index);
  return runPagesReducer(state, { type: 'loaded', key: state.key, index: state.index, ...p });
}

describe('keyset pagination of runs', () => {
  it('walks forward with the server cursor and back with the cursor each page was read with', () => {
    let s = loaded(initialPages('k'), 250, 100);
    expect(s.items.map((r) => r.name).slice(0, 2)).toEqual(['run-250', 'run-249']);
    expect(currentCursor(s)).toBeNull();
    s = runPagesReducer(s, { type: 'next' });
    expect(s).toMatchObject({ index: 1, loading: true });
    expect(currentCursor(s)).toBe('after-151');
    s = loaded(s, 250, 100);
    s = runPagesReducer(s, { type: 'next' });
    expect(currentCursor(s)).toBe('after-51');
    s = loaded(s, 250, 100);
    expect(s.items).toHaveLength(50);
    expect(s.nextCursor).toBeNull();
    expect(runPagesReducer(s, { type: 'next' })).toBe(s);
    s = runPagesReducer(s, { type: 'prev' });
    expect(currentCursor(s)).toBe('after-151');
    s = runPagesReducer(loaded(s, 250, 100), { type: 'prev' });
    expect(currentCursor(s)).toBeNull();
    expect(s.index).toBe(0);
  });

  it('ignores a late answer for another filter or another page', () => {
    let s = loaded(initialPages('state=FAILED'), 10, 5);
    s = runPagesReducer(s, { type: 'next' });
    const stalePage = runPagesReducer(s, { type: 'loaded', key: 'state=FAILED', index: 0, items: [run(999)], nextCursor: null });
    expect(stalePage).toBe(s);
    const reset = runPagesReducer(s, { type: 'reset', key: 'state=COMPLETED' });
    const staleFilter = runPagesReducer(reset, {
      type: 'loaded',
      key: 'state=FAILED',
      index: 0,
      items: [run(1)],
      nextCursor: null,
    });
    expect(staleFilter.items).toEqual([]);
    expect(staleFilter.loading).toBe(true);
    const failed = runPagesReducer(reset, { type: 'failed', key: 'state=COMPLETED', index: 0, error: 'HTTP 500' });
    expect(failed).toMatchObject({ loading: false, error: 'HTTP 500' });
  });

  it('does not move while a page is loading, so double clicks skip nothing', () => {
    let s = loaded(initialPages('k'), 300, 100);
    s = runPagesReducer(s, { type: 'next' });
    expect(runPagesReducer(s, { type: 'next' })).toBe(s);
    expect(runPagesReducer(s, { type: 'prev' })).toBe(s);
  });

  it('updates a shown run in place from a live event and never with an older version', () => {
    const s = loaded(initialPages('k'), 10, 5);
    const later = new Date(BASE + 60_000).toISOString();
    const running = run(8, {
      state: { type: 'RUNNING', name: 'Running', message: null, timestamp: later, data: null },
      updatedAt: later,
    });
    const updated = runPagesReducer(s, { type: 'upsert', run: running, matches: true });
    expect(updated.items.map((r) => r.id)).toEqual(s.items.map((r) => r.id));
    expect(updated.items[2]?.state.type).toBe('RUNNING');
    const stale = runPagesReducer(updated, { type: 'upsert', run: run(8), matches: true });
    expect(stale.items[2]?.state.type).toBe('RUNNING');
  });

  it('puts new matching runs on top of the first page and only counts them elsewhere', () => {
    let s = loaded(initialPages('k'), 10, 5);
    s = runPagesReducer(s, { type: 'upsert', run: run(11), matches: true });
    expect(s.items[0]?.name).toBe('run-11');
    expect(s.items).toHaveLength(6);
    expect(runPagesReducer(s, { type: 'upsert', run: run(12), matches: false }).items).toHaveLength(6);
    // an old run that changes state but is not on this page belongs further down: it is not inserted
    expect(runPagesReducer(s, { type: 'upsert', run: run(1), matches: true }).items).toHaveLength(6);

    let second = loaded(runPagesReducer(s, { type: 'next' }), 10, 5);
    expect(second.unseen).toBe(0);
    const newest = run(13);
    second = runPagesReducer(second, { type: 'upsert', run: newest, matches: true });
    second = runPagesReducer(second, { type: 'upsert', run: run(12), matches: false });
    expect(second.items.some((r) => r.id === newest.id)).toBe(false);
    expect(second.unseen).toBe(1);
    const back = loaded(runPagesReducer(second, { type: 'first' }), 13, 5);
    expect(back).toMatchObject({ index: 0, unseen: 0 });
    expect(back.items[0]?.name).toBe('run-13');
  });

  it('stops growing the first page at the live cap and counts the rest', () => {
    let s = runPagesReducer(initialPages('k'), { type: 'loaded', key: 'k', index: 0, items: [], nextCursor: null });
    for (let n = 1; n <= MAX_LIVE_ROWS + 3; n++) s = runPagesReducer(s, { type: 'upsert', run: run(n), matches: true });
    expect(s.items).toHaveLength(MAX_LIVE_ROWS);
    expect(s.unseen).toBe(3);
  });
});

describe('run filters in the URL', () => {
  it('round-trips through the query string and drops unknown values', () => {
    const search = new URLSearchParams(
      'state=failed,CRASHED,BOGUS&deployment=d1&flow=etl&tag=ml&window=24h&chart=durations&extra=1',
    );
    const filters = filtersFromSearch(search);
    expect(filters).toEqual({
      states: ['FAILED', 'CRASHED'],
      deploymentId: 'd1',
      flow: 'etl',
      tag: 'ml',
      window: '24h',
      chart: 'durations',
    });
    expect(filtersFromSearch(filtersToSearch(filters))).toEqual(filters);
    expect(filtersKey(filtersFromSearch(new URLSearchParams('window=forever&chart=pie')))).toBe('');
    expect(filtersFromSearch(new URLSearchParams('chart=pie')).chart).toBe('none');
  });

  it('keeps the loaded pages when only the chart changes, since the chart lists the same runs', () => {
    const table = filtersFromSearch(new URLSearchParams('state=FAILED&flow=etl'));
    expect(filtersKey({ ...table, chart: 'durations' })).toBe(filtersKey(table));
    expect(filtersKey({ ...table, flow: 'other' })).not.toBe(filtersKey(table));
  });

  it('asks the server for the same set the live events are matched against', () => {
    const now = BASE + 3_600_000;
    const filters = filtersFromSearch(new URLSearchParams('state=RUNNING&tag=ml&window=1h'));
    expect(listQuery(filters, 'c1', 100, now)).toEqual({
      limit: 100,
      cursor: 'c1',
      state: 'RUNNING',
      deploymentId: undefined,
      flow: undefined,
      tag: 'ml',
      createdAfter: new Date(BASE).toISOString(),
    });
    const running = run(5, { state: { type: 'RUNNING', name: 'Running', message: null, timestamp: '', data: null } });
    expect(runMatches(running, filters, now)).toBe(true);
    expect(runMatches({ ...running, tags: [] }, filters, now)).toBe(false);
    expect(runMatches(run(5), filters, now)).toBe(false);
    expect(runMatches(run(-5, { state: running.state }), filters, now)).toBe(false);
    expect(runMatches(running, { ...filters, flow: running.flowName }, now)).toBe(true);
    expect(runMatches(running, { ...filters, flow: `${running.flowName}-other` }, now)).toBe(false);
  });
});
