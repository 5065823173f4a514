import type { LogLevel, LogLine } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { LOG_LEVELS, LogStore, LogView } from '../src/lib/log-store.js';

const WORDS = ['loading', 'batch', 'epoch', 'checkpoint', 'Timeout', 'retrying', 'connected', 'rows', 'written', 'GPU'];

function makeLines(count: number, attempt = 1, startSeq = 1): LogLine[] {
  const lines: LogLine[] = [];
  for (let i = 0; i < count; i++) {
    const seq = startSeq + i;
    lines.push({
      attempt,
      seq,
      timestamp: new Date(1_700_000_000_000 + seq * 10).toISOString(),
      level: LOG_LEVELS[seq % 5 === 0 ? 3 : seq % 7 === 0 ? 2 : seq % 3 === 0 ? 0 : 1] as LogLevel,
      message: `${WORDS[seq % WORDS.length]} item ${seq} of the run, ${WORDS[(seq * 7) % WORDS.length]} done`,
      taskRunId: null,
      stream: 'flow',
    });
  }
  return lines;
}

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

function naive(lines: readonly LogLine[], minLevel: LogLevel, query: string): number[] {
  const q = query.toLowerCase();
  return lines.flatMap((l, i) => (RANK[l.level] >= RANK[minLevel] && l.message.toLowerCase().includes(q) ? [i] : []));
}

function viewIndices(view: LogView): number[] {
  return Array.from({ length: view.length }, (_, i) => view.storeIndexAt(i) ?? -1);
}

describe('log filtering over a large run', () => {
  const store = new LogStore();
  const lines = makeLines(100_000);
  store.append(lines);

  it('finds exactly the lines a plain scan finds, for levels and case-insensitive search', () => {
    const view = new LogView(store);
    expect(view.length).toBe(100_000);
    for (const [level, query] of [
      ['info', ''],
      ['error', ''],
      ['debug', 'timeout'],
      ['warning', 'GPU'],
      ['debug', 'item 99999 '],
      ['critical', ''],
      ['debug', 'no such text'],
    ] as const) {
      view.setFilter({ minLevel: level, query });
      expect(viewIndices(view)).toEqual(naive(lines, level, query));
    }
  });

  it('narrows a search by rescanning only the current matches and still agrees with a full scan', () => {
    const view = new LogView(store, { minLevel: 'debug', query: 'check' });
    view.setFilter({ minLevel: 'info', query: 'checkpoint item 1' });
    expect(viewIndices(view)).toEqual(naive(lines, 'info', 'checkpoint item 1'));
    view.setFilter({ minLevel: 'debug', query: 'check' });
    expect(viewIndices(view)).toEqual(naive(lines, 'debug', 'check'));
  });
});

describe('log store', () => {
  it('keeps each (attempt, seq) once, so overlapping polls add nothing twice', () => {
    const store = new LogStore();
    expect(store.append(makeLines(100))).toBe(100);
    expect(store.append(makeLines(50, 1, 51))).toBe(0);
    expect(store.append(makeLines(10, 1, 95))).toBe(4);
    expect(store.append(makeLines(10, 2, 1))).toBe(10);
    expect(store.size).toBe(114);
  });

  it('adds matching lines that arrive later without rescanning older ones', () => {
    const store = new LogStore();
    const first = makeLines(1000);
    store.append(first);
    const view = new LogView(store, { minLevel: 'warning', query: 'rows' });
    const before = view.length;
    const more = makeLines(1000, 1, 1001);
    store.append(more);
    const added = view.refresh();
    expect(added).toBe(naive(more, 'warning', 'rows').length);
    expect(view.length).toBe(before + added);
    expect(viewIndices(view)).toEqual(naive([...first, ...more], 'warning', 'rows'));
  });

  it('keeps markup in messages as the exact characters it received', () => {
    const store = new LogStore();
    const message = '<script>alert(1)</script><img src=x onerror=alert(1)>';
    store.append([{ ...makeLines(1)[0]!, message }]);
    const view = new LogView(store, { minLevel: 'debug', query: '<SCRIPT>' });
    expect(view.length).toBe(1);
    expect(view.at(0)?.message).toBe(message);
  });
});

describe('finding a failure and the attempts in a run log', () => {
  const line = (attempt: number, seq: number, level: LogLevel, message = `line ${seq}`): LogLine => ({
    attempt,
    seq,
    timestamp: new Date(1_700_000_000_000 + attempt * 1000 + seq).toISOString(),
    level,
    message,
    taskRunId: null,
    stream: 'flow',
  });

  it('jumps to the first error of the latest attempt that has one, within what the filter shows', () => {
    const store = new LogStore();
    store.append([
      line(1, 1, 'info'),
      line(1, 2, 'error', 'first attempt broke'),
      line(2, 1, 'info'),
      line(2, 2, 'warning'),
      line(2, 3, 'critical', 'second attempt broke'),
      line(2, 4, 'error', 'and then this'),
      line(3, 1, 'info'),
    ]);
    const view = new LogView(store);
    expect(view.at(view.firstFailure() as number)?.message).toBe('second attempt broke');
    view.setFilter({ minLevel: 'debug', query: 'first' });
    expect(view.at(view.firstFailure() as number)?.message).toBe('first attempt broke');
    view.setFilter({ minLevel: 'debug', query: 'line' });
    expect(view.firstFailure()).toBeNull();
  });

  it('marks the first line shown of each later attempt', () => {
    const store = new LogStore();
    store.append([line(1, 1, 'info'), line(1, 2, 'info'), line(2, 1, 'info'), line(2, 2, 'error'), line(3, 1, 'info')]);
    const view = new LogView(store);
    expect(Array.from({ length: view.length }, (_, i) => view.startsAttempt(i))).toEqual([false, false, true, false, true]);
    view.setFilter({ minLevel: 'error', query: '' });
    expect(view.startsAttempt(0)).toBe(false);
  });
});
