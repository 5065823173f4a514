import { describe, expect, it } from 'vitest';
import { countAxis, stackedBars } from '../src/lib/stats-chart.js';

const bucket = (completed: number) => ({ counts: { COMPLETED: completed } });

describe('the runs chart axis', () => {
  it('labels every gridline with the count drawn at its height', () => {
    for (const top of [0, 1, 3, 5, 7, 12, 37, 99, 250, 1234]) {
      const chart = stackedBars([bucket(top), bucket(Math.floor(top / 2))], 400, 200);
      for (const line of chart.gridlines) {
        expect(Number.isInteger(line.value), `top ${top}: ${line.value}`).toBe(true);
        expect(line.y).toBeCloseTo(200 - (line.value / chart.max) * 200);
      }
      expect(chart.gridlines.at(-1)?.value).toBe(chart.max);
      expect(chart.gridlines.length).toBeLessThanOrEqual(5);
      expect(chart.max).toBeGreaterThanOrEqual(top);
    }
  });

  it('draws the tallest bar to the height its count is on the axis', () => {
    const chart = stackedBars([bucket(7)], 100, 200);
    const bar = chart.rects[0];
    expect(bar?.height).toBeCloseTo((7 / chart.max) * 200);
  });

  it('steps by whole numbers of one, two or five times a power of ten', () => {
    expect(countAxis(0)).toEqual({ max: 1, step: 1 });
    expect(countAxis(3)).toEqual({ max: 3, step: 1 });
    expect(countAxis(5)).toEqual({ max: 6, step: 2 });
    expect(countAxis(12)).toEqual({ max: 15, step: 5 });
    expect(countAxis(37)).toEqual({ max: 40, step: 10 });
    expect(countAxis(1234)).toEqual({ max: 1500, step: 500 });
  });
});
