import { describe, expect, it } from 'vitest';
import { timesInRange } from '../src/scheduling/backfill-times.js';
import { DEFAULT_FILL_BOUNDS, planFill } from '../src/scheduling/fill-plan.js';
import { DEFAULT_ANCHOR, defaultSlug, normalizeSchedules } from '../src/scheduling/schedule-input.js';
import { TimelineCache, timelineOf } from '../src/scheduling/timeline.js';

const NY = 'America/New_York';
const iso = (dates: (Date | null)[]) => dates.map((d) => d?.toISOString() ?? null);

function walk(cron: string, timezone: string, from: string, n: number): string[] {
  const timeline = timelineOf({ kind: 'cron', cron, timezone });
  const out: Date[] = [];
  let t: Date | null = new Date(from);
  for (let i = 0; i < n && t; i++) {
    t = timeline.next(t);
    if (t) out.push(t);
  }
  return out.map((d) => d.toISOString());
}

describe('cron in America/New_York across daylight-saving changes', () => {
  it('runs 01:30 every day at 01:30 local time across the March change (EST to EDT)', () => {
    // 2025-03-09: clocks jump from 02:00 EST to 03:00 EDT; 01:30 exists (still EST).
    expect(walk('30 1 * * *', NY, '2025-03-08T12:00:00Z', 3)).toEqual([
      '2025-03-09T06:30:00.000Z',
      '2025-03-10T05:30:00.000Z',
      '2025-03-11T05:30:00.000Z',
    ]);
  });

  it('runs a nonexistent 02:30 once, at 03:00 EDT, on the day clocks spring forward', () => {
    expect(walk('30 2 * * *', NY, '2025-03-08T12:00:00Z', 3)).toEqual([
      '2025-03-09T07:00:00.000Z',
      '2025-03-10T06:30:00.000Z',
      '2025-03-11T06:30:00.000Z',
    ]);
  });

  it('runs an ambiguous 01:30 once, on its first occurrence (EDT), on the day clocks fall back', () => {
    // 2025-11-02: 01:00–02:00 happens twice, first EDT (UTC-4), then EST (UTC-5).
    expect(walk('30 1 * * *', NY, '2025-11-01T12:00:00Z', 3)).toEqual([
      '2025-11-02T05:30:00.000Z',
      '2025-11-03T06:30:00.000Z',
      '2025-11-04T06:30:00.000Z',
    ]);
  });

  it('runs 02:30 at 02:30 EST after clocks fall back, once a day', () => {
    expect(walk('30 2 * * *', NY, '2025-11-01T12:00:00Z', 3)).toEqual([
      '2025-11-02T07:30:00.000Z',
      '2025-11-03T07:30:00.000Z',
      '2025-11-04T07:30:00.000Z',
    ]);
  });

  it('walks an every-30-minutes cron through real instants: the repeated hour twice, the skipped hour not at all', () => {
    const fallBack = walk('*/30 * * * *', NY, '2025-11-02T04:45:00Z', 6);
    expect(fallBack).toEqual([
      '2025-11-02T05:00:00.000Z', // 01:00 EDT
      '2025-11-02T05:30:00.000Z', // 01:30 EDT
      '2025-11-02T06:00:00.000Z', // 01:00 EST
      '2025-11-02T06:30:00.000Z', // 01:30 EST
      '2025-11-02T07:00:00.000Z', // 02:00 EST
      '2025-11-02T07:30:00.000Z',
    ]);
    const springForward = walk('*/30 * * * *', NY, '2025-03-09T06:15:00Z', 3);
    expect(springForward).toEqual(['2025-03-09T06:30:00.000Z', '2025-03-09T07:00:00.000Z', '2025-03-09T07:30:00.000Z']);
  });

  it('finds the latest time at or before an instant, including one exactly on it', () => {
    const timeline = timelineOf({ kind: 'cron', cron: '30 2 * * *', timezone: NY });
    expect(iso([timeline.latestAtOrBefore(new Date('2025-03-10T06:30:00Z'))])).toEqual(['2025-03-10T06:30:00.000Z']);
    expect(iso([timeline.latestAtOrBefore(new Date('2025-03-10T06:29:59Z'))])).toEqual(['2025-03-09T07:00:00.000Z']);
  });

  it('accepts six fields with seconds first', () => {
    expect(walk('15 0 12 * * *', 'UTC', '2025-01-01T00:00:00Z', 2)).toEqual([
      '2025-01-01T12:00:15.000Z',
      '2025-01-02T12:00:15.000Z',
    ]);
  });

  it('gives the same times through the per-pass cache as without it, from any starting point', () => {
    const def = { kind: 'cron', cron: '*/7 * * * *', timezone: NY } as const;
    const cache = new TimelineCache();
    const cached = cache.get(def);
    expect(cache.get(def)).toBe(cached);
    const plain = timelineOf(def);
    for (const from of ['2025-11-02T05:01:00Z', '2025-11-02T04:00:00Z', '2025-11-02T05:01:00Z', '2025-11-02T09:13:00Z']) {
      let a: Date | null = new Date(from);
      let b: Date | null = new Date(from);
      for (let i = 0; i < 40; i++) {
        a = cached.next(a as Date);
        b = plain.next(b as Date);
        expect(a?.toISOString()).toBe(b?.toISOString());
      }
    }
  });
});

describe('interval schedules', () => {
  it('places every time at anchor + k × interval, before and after the anchor', () => {
    const timeline = timelineOf({ kind: 'interval', intervalSeconds: 900, anchorDate: new Date('2025-06-01T00:05:00Z') });
    expect(iso([timeline.next(new Date('2025-06-01T00:05:00Z'))])).toEqual(['2025-06-01T00:20:00.000Z']);
    expect(iso([timeline.next(new Date('2025-06-01T00:19:59.999Z'))])).toEqual(['2025-06-01T00:20:00.000Z']);
    expect(iso([timeline.next(new Date('2025-05-31T23:00:00Z'))])).toEqual(['2025-05-31T23:05:00.000Z']);
    expect(iso([timeline.latestAtOrBefore(new Date('2025-06-01T00:35:00Z'))])).toEqual(['2025-06-01T00:35:00.000Z']);
  });

  it('keeps elapsed time across DST: a daily interval moves an hour on the local clock', () => {
    const timeline = timelineOf({ kind: 'interval', intervalSeconds: 86_400, anchorDate: new Date('2025-03-08T14:00:00Z') });
    expect(iso([timeline.next(new Date('2025-03-08T14:00:00Z')), timeline.next(new Date('2025-03-09T14:00:00Z'))])).toEqual([
      '2025-03-09T14:00:00.000Z',
      '2025-03-10T14:00:00.000Z',
    ]);
  });
});

describe('schedule slugs', () => {
  it('derives the same slug from the same definition, whatever else changes', () => {
    const base = normalizeSchedules([{ cron: '0 3 * * *', timezone: NY }], 'body.schedules', new Date()).schedules[0];
    const again = normalizeSchedules(
      [{ intervalSeconds: 60 }, { cron: ' 0  3 * * * ', timezone: NY, parameters: { a: 1 }, active: false, catchup: 'all' }],
      'body.schedules',
      new Date(),
    ).schedules[1];
    expect(base?.slug).toMatch(/^cron-[0-9a-f]{12}$/);
    expect(again?.slug).toBe(base?.slug);
  });

  it('derives different slugs from different definitions', () => {
    const slugs = [
      defaultSlug({ kind: 'cron', cron: '0 3 * * *', timezone: NY }),
      defaultSlug({ kind: 'cron', cron: '0 3 * * *', timezone: 'UTC' }),
      defaultSlug({ kind: 'cron', cron: '0 4 * * *', timezone: NY }),
      defaultSlug({ kind: 'interval', intervalSeconds: 60, anchorDate: DEFAULT_ANCHOR }),
      defaultSlug({ kind: 'interval', intervalSeconds: 60, anchorDate: new Date('2025-01-01T00:00:00Z') }),
    ];
    expect(new Set(slugs).size).toBe(slugs.length);
  });

  it('keeps an explicit slug and reports duplicates, bad crons, unknown zones and crons that never fire by field path', () => {
    const { schedules, errors } = normalizeSchedules(
      [
        { slug: 'nightly', cron: '0 3 * * *' },
        { slug: 'nightly', intervalSeconds: 60 },
        { cron: 'not a cron' },
        { cron: '0 3 * * *', timezone: 'Mars/Olympus_Mons' },
        { cron: '0 0 30 2 *' },
        { cron: '0 3 * * *' },
      ],
      'body.schedules',
      new Date(),
    );
    expect(schedules.map((s) => s.slug)[0]).toBe('nightly');
    expect(errors.map((e) => e.path)).toEqual([
      'body.schedules.1.slug',
      'body.schedules.2.cron',
      'body.schedules.3.timezone',
      'body.schedules.4.cron',
    ]);
    expect(errors[3]?.message).toBe('the cron expression never fires');
  });
});

describe('filling ahead', () => {
  const hourly = timelineOf({ kind: 'cron', cron: '0 * * * *', timezone: 'UTC' });
  const now = new Date('2025-06-01T10:30:00Z');

  it('fills a new schedule with at least 3 runs and at least an hour ahead', () => {
    const plan = planFill(hourly, { filledUntil: null, catchup: 'latest' }, now);
    expect(iso(plan.times)).toEqual(['2025-06-01T11:00:00.000Z', '2025-06-01T12:00:00.000Z', '2025-06-01T13:00:00.000Z']);
    expect(plan.filledUntil.toISOString()).toBe('2025-06-01T13:00:00.000Z');
    // At 11:00 only two runs would be ahead.
    expect(plan.nextFillAt?.toISOString()).toBe('2025-06-01T11:00:00.000Z');
  });

  it('fills a frequent schedule for an hour, and never more than 100 runs', () => {
    const minutely = timelineOf({ kind: 'cron', cron: '* * * * *', timezone: 'UTC' });
    expect(planFill(minutely, { filledUntil: null, catchup: 'latest' }, now).times).toHaveLength(60);
    const everySecond = timelineOf({ kind: 'interval', intervalSeconds: 1, anchorDate: DEFAULT_ANCHOR });
    expect(planFill(everySecond, { filledUntil: null, catchup: 'latest' }, now).times).toHaveLength(100);
  });

  it('tops up only what is missing when runs are already ahead', () => {
    const plan = planFill(hourly, { filledUntil: new Date('2025-06-01T12:00:00Z'), catchup: 'latest' }, now);
    expect(iso(plan.times)).toEqual(['2025-06-01T13:00:00.000Z']);
    const none = planFill(hourly, { filledUntil: new Date('2025-06-01T13:00:00Z'), catchup: 'latest' }, now);
    expect(none.times).toEqual([]);
  });

  it('looks no further than 100 days and comes back when the next time is within reach', () => {
    const yearly = timelineOf({ kind: 'cron', cron: '0 0 1 1 *', timezone: 'UTC' });
    const plan = planFill(yearly, { filledUntil: null, catchup: 'latest' }, now);
    expect(plan.times).toEqual([]);
    expect(plan.nextFillAt?.toISOString()).toBe(
      new Date(Date.parse('2026-01-01T00:00:00Z') - DEFAULT_FILL_BOUNDS.maxAheadMs).toISOString(),
    );
  });

  describe('after an outage (the mark is far in the past)', () => {
    const mark = new Date('2025-06-01T04:00:00Z'); // missed 05:00 … 10:00

    it('creates only the most recent missed run with catch-up latest', () => {
      const plan = planFill(hourly, { filledUntil: mark, catchup: 'latest' }, now);
      expect(iso(plan.times)).toEqual([
        '2025-06-01T10:00:00.000Z',
        '2025-06-01T11:00:00.000Z',
        '2025-06-01T12:00:00.000Z',
        '2025-06-01T13:00:00.000Z',
      ]);
      expect(iso([plan.skipped?.from ?? null, plan.skipped?.through ?? null])).toEqual([
        '2025-06-01T05:00:00.000Z',
        '2025-06-01T09:00:00.000Z',
      ]);
    });

    it('creates no missed run with catch-up none', () => {
      const plan = planFill(hourly, { filledUntil: mark, catchup: 'none' }, now);
      expect(iso(plan.times)).toEqual(['2025-06-01T11:00:00.000Z', '2025-06-01T12:00:00.000Z', '2025-06-01T13:00:00.000Z']);
      expect(plan.filledUntil.toISOString()).toBe('2025-06-01T13:00:00.000Z');
    });

    it('creates every missed run with catch-up all', () => {
      const plan = planFill(hourly, { filledUntil: mark, catchup: 'all' }, now);
      expect(plan.times).toHaveLength(6 + 3);
      expect(plan.times[0]?.toISOString()).toBe('2025-06-01T05:00:00.000Z');
    });

    it('creates at most 100 missed runs per pass with catch-up all, and the rest on the next pass', () => {
      const minutely = timelineOf({ kind: 'cron', cron: '* * * * *', timezone: 'UTC' });
      const first = planFill(minutely, { filledUntil: mark, catchup: 'all' }, now);
      expect(first.times).toHaveLength(100);
      expect(first.filledUntil.toISOString()).toBe('2025-06-01T05:40:00.000Z');
      expect(first.nextFillAt?.toISOString()).toBe(now.toISOString());
      const second = planFill(minutely, { filledUntil: first.filledUntil, catchup: 'all' }, now);
      expect(second.times[0]?.toISOString()).toBe('2025-06-01T05:41:00.000Z');
    });

    it('never brings back a skipped time on a later pass', () => {
      const plan = planFill(hourly, { filledUntil: mark, catchup: 'none' }, now);
      const later = planFill(hourly, { filledUntil: plan.filledUntil, catchup: 'all' }, new Date('2025-06-01T10:45:00Z'));
      expect(later.times).toEqual([]);
    });
  });
});

describe('backfill times', () => {
  it('lists the times in [start, end), the start included and the end excluded', () => {
    const daily = timelineOf({ kind: 'cron', cron: '0 0 * * *', timezone: 'UTC' });
    expect(iso(timesInRange(daily, new Date('2025-01-01T00:00:00Z'), new Date('2025-01-04T00:00:00Z'), 10) ?? [])).toEqual([
      '2025-01-01T00:00:00.000Z',
      '2025-01-02T00:00:00.000Z',
      '2025-01-03T00:00:00.000Z',
    ]);
  });

  it('refuses a range with more times than the cap', () => {
    const minutely = timelineOf({ kind: 'cron', cron: '* * * * *', timezone: 'UTC' });
    expect(timesInRange(minutely, new Date('2025-01-01T00:00:00Z'), new Date('2025-01-01T00:10:00Z'), 10)).toHaveLength(10);
    expect(timesInRange(minutely, new Date('2025-01-01T00:00:00Z'), new Date('2025-01-01T00:10:01Z'), 10)).toBeNull();
  });
});
