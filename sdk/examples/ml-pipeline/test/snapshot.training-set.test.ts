import { describe, expect, it } from 'vitest';
import { parseCsv } from '../src/csv.js';
import { validateCustomers } from '../src/dataset.js';
import { EMBEDDED_DATASETS } from '../src/embedded-data.js';
import { addDays, dailySnapshot, dateSlot, renewalSlot } from '../src/snapshot.js';
import { buildTrainingSet, TrainingWindowError, trainingWindow } from '../src/training-set.js';

const EXPORT = EMBEDDED_DATASETS.customers ?? '';
const idsOf = (csv: string) =>
  parseCsv(csv)
    .slice(1)
    .map((row) => row.cells[0]);
const week = (start: string) => Array.from({ length: 7 }, (_, i) => addDays(start, i));

describe('daily snapshots of the customers export', () => {
  it('hold every row of the export exactly once over any seven consecutive days', () => {
    const all = idsOf(EXPORT).sort();
    // A plain week, one across a month end, and one across the spring daylight-saving change.
    for (const start of ['2026-11-02', '2026-11-27', '2027-03-25']) {
      const days = week(start).map((day) => idsOf(dailySnapshot(EXPORT, day).csv));
      expect(days.flat().sort()).toEqual(all);
      for (const ids of days) expect(ids.length).toBeGreaterThan(100);
    }
  });

  it('give the same bytes for the same date, the same customers a week later, and other customers the next day', () => {
    const monday = dailySnapshot(EXPORT, '2026-11-16');
    expect(dailySnapshot(EXPORT, '2026-11-16')).toEqual(monday);
    expect(dailySnapshot(EXPORT, '2026-11-23')).toEqual(monday);
    const tuesday = idsOf(dailySnapshot(EXPORT, '2026-11-17').csv);
    expect(tuesday.some((id) => idsOf(monday.csv).includes(id))).toBe(false);
    expect(monday.csv.split('\n')[0]).toBe(EXPORT.split('\n')[0]);
  });

  it('put a customer on the day of its id, and a duplicated id with the row it duplicates', () => {
    expect(renewalSlot('C10007')).toBe(10_007 % 7);
    expect(renewalSlot('no digits')).toBe(0);
    expect(dateSlot('1970-01-01')).toBe(0);
    expect(dateSlot('1970-01-08')).toBe(0);
    expect(dateSlot('1969-12-31')).toBe(6);
    expect(() => dateSlot('2026-13-45')).toThrow(RangeError);
  });
});

describe('the training set of a window', () => {
  const days = week('2026-11-02').map((date) => ({ date, ...validateCustomers(dailySnapshot(EXPORT, date).csv) }));

  it('is the whole export when the window is a full week: the same rows, in the same order, with the same split', () => {
    const whole = validateCustomers(EXPORT);
    const set = buildTrainingSet(days, { testFraction: 0.25, seed: 7 });
    expect(set.customers).toEqual(whole.customers);
    expect(set.rejected).toBe(whole.rejected.length);
    expect([set.train.length, set.test.length]).toEqual([590, 197]);
    expect(buildTrainingSet([...days].reverse(), { testFraction: 0.25, seed: 7 })).toEqual(set);
  });

  it("keeps a customer's latest row when it appears on several days", () => {
    const [first] = days;
    const later = { date: '2026-11-09', customers: [{ ...first!.customers[0]!, tenureMonths: 99 }], rejected: [] };
    const set = buildTrainingSet([first!, later], { testFraction: 0.25, seed: 7 });
    expect(set.customers).toHaveLength(first!.customers.length);
    expect(set.customers.find((c) => c.customerId === later.customers[0]!.customerId)?.tenureMonths).toBe(99);
  });

  it('spans the seven days up to the newest one there is', () => {
    const available = [...week('2026-11-02'), '2026-11-09'].slice(1);
    expect(trainingWindow(available, { days: 7, firstDay: '2026-11-02' })).toEqual(week('2026-11-03'));
  });

  it('names the days missing from the window, or says it would start before the first day', () => {
    const error = (available: string[]) => {
      try {
        trainingWindow(available, { days: 7, firstDay: '2026-11-02' });
      } catch (thrown) {
        return thrown as TrainingWindowError;
      }
      throw new Error('expected a TrainingWindowError');
    };
    const gaps = error(['2026-11-10', '2026-11-12', '2026-11-13', '2026-11-14', '2026-11-15', '2026-11-16']);
    expect(gaps).toBeInstanceOf(TrainingWindowError);
    expect(gaps.missing).toEqual(['2026-11-11']);
    expect(gaps.message).toBe('the 7 days 2026-11-10..2026-11-16 lack 2026-11-11');
    const early = error(['2026-11-02', '2026-11-04']);
    expect(early.message).toBe('the 7 days up to 2026-11-04 start before the first day there is, 2026-11-02');
    expect(early.window).toEqual({ start: '2026-11-02', end: '2026-11-08' });
    expect(early.missing).toEqual(['2026-11-03']);
    expect(error([]).message).toBe('no day of customers is there yet');
  });
});
