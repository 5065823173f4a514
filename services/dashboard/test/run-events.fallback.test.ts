import type { FlowRun } from '@outpost/sdk/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type EventSourceLike, type LiveStatus, subscribeRunEvents } from '../src/api/run-events.js';

class FakeSource implements EventSourceLike {
  readyState = 0;
  closed = false;
  onopen: EventSourceLike['onopen'] = null;
  onmessage: EventSourceLike['onmessage'] = null;
  onerror: EventSourceLike['onerror'] = null;
  constructor(readonly url: string) {}
  open() {
    this.readyState = 1;
    this.onopen?.call(this, new Event('open'));
  }
  send(data: string) {
    this.onmessage?.call(this, new MessageEvent('message', { data }));
  }
  /** `fatal`: the browser gave up (HTTP error); otherwise it retries by itself. */
  fail(fatal: boolean) {
    this.readyState = fatal ? 2 : 0;
    this.onerror?.call(this, new Event('error'));
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
}

const RUN: FlowRun = {
  id: '00000000-0000-4000-8000-000000000001',
  name: 'brave-otter',
  flowId: '00000000-0000-4000-8000-000000000002',
  flowName: 'train',
  deploymentId: null,
  deploymentName: null,
  workPool: null,
  workQueue: null,
  parameters: {},
  tags: [],
  state: { type: 'RUNNING', name: 'Running', message: null, timestamp: '2026-03-01T12:00:00.000Z', data: null },
  attempt: 1,
  maxRetries: 0,
  idempotencyKey: null,
  workerId: null,
  leaseExpiresAt: null,
  expectedStartTime: '2026-03-01T12:00:00.000Z',
  startTime: '2026-03-01T12:00:00.000Z',
  endTime: null,
  createdAt: '2026-03-01T12:00:00.000Z',
  updatedAt: '2026-03-01T12:00:00.000Z',
};

describe('flow-run event subscription', () => {
  let sources: FakeSource[];
  let polls: number;
  let runs: FlowRun[];
  let statuses: LiveStatus[];
  let stop: () => void;

  beforeEach(() => {
    vi.useFakeTimers();
    sources = [];
    polls = 0;
    runs = [];
    statuses = [];
    stop = subscribeRunEvents({
      url: '/api/v1/flow-runs/events',
      onRun: (r) => runs.push(r),
      poll: () => {
        polls++;
      },
      onStatus: (s) => statuses.push(s),
      createEventSource: (url) => {
        const source = new FakeSource(url);
        sources.push(source);
        return source;
      },
    });
  });

  afterEach(() => {
    stop();
    vi.useRealTimers();
  });

  it('delivers each valid run event and drops malformed ones', () => {
    sources[0]?.open();
    sources[0]?.send(JSON.stringify(RUN));
    sources[0]?.send('not json');
    sources[0]?.send(JSON.stringify({ ...RUN, id: 'nope' }));
    expect(runs).toEqual([RUN]);
    expect(statuses).toEqual(['connecting', 'live']);
    expect(sources[0]?.url).toBe('/api/v1/flow-runs/events');
  });

  it('polls every 5 s while the stream is down and catches up once when it comes back', async () => {
    sources[0]?.open();
    sources[0]?.fail(false);
    expect(statuses.at(-1)).toBe('polling');
    await vi.advanceTimersByTimeAsync(4_999);
    expect(polls).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(polls).toBe(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(polls).toBe(3);
    sources[0]?.open();
    expect(statuses.at(-1)).toBe('live');
    expect(polls).toBe(4);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(polls).toBe(4);
    expect(sources).toHaveLength(1);
  });

  it('reopens a stream the server closed, backing off, and keeps polling meanwhile', async () => {
    sources[0]?.fail(true);
    expect(sources[0]?.closed).toBe(true);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(sources).toHaveLength(2);
    expect(polls).toBe(1);
    sources[1]?.fail(true);
    await vi.advanceTimersByTimeAsync(9_999);
    expect(sources).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(sources).toHaveLength(3);
    sources[2]?.open();
    expect(statuses.at(-1)).toBe('live');
  });

  it('stops every timer and the stream when unsubscribed', async () => {
    sources[0]?.fail(true);
    stop();
    expect(statuses.at(-1)).toBe('stopped');
    await vi.advanceTimersByTimeAsync(120_000);
    expect(polls).toBe(0);
    expect(sources).toHaveLength(1);
    expect(vi.getTimerCount()).toBe(0);
  });
});
