import { USAGE_MEASURES, type WorkspaceMonthUsage } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { measureAxis, measureChart, monthRange, SERIES_COLOURS, usageSeries } from '../src/lib/usage.js';
import { UsageChart } from '../src/pages/usage-chart.js';

function usage(workspace: string, month: string, runs: number, extra: Partial<WorkspaceMonthUsage> = {}): WorkspaceMonthUsage {
  return {
    workspace,
    month,
    runs,
    taskRuns: 0,
    computeSeconds: 0,
    logLines: 0,
    logBytes: 0,
    events: 0,
    metadataBytes: 0,
    ...extra,
  };
}

/** The API's answer for `workspaces` × `months`: every pair, by month then slug. */
function answer(workspaces: number, months: readonly string[]): WorkspaceMonthUsage[] {
  const slugs = Array.from({ length: workspaces }, (_, i) => `ws-${String(i).padStart(3, '0')}`);
  return months.flatMap((month, m) => slugs.map((slug, w) => usage(slug, month, (w + 1) * (m + 1))));
}

describe('the usage charts', () => {
  it('gives each of a few workspaces its own colour, the largest at the bottom of the stack', () => {
    const months = ['2026-01', '2026-02'];
    const series = usageSeries([
      usage('a', '2026-01', 1),
      usage('b', '2026-01', 9),
      usage('a', '2026-02', 1),
      usage('b', '2026-02', 0),
    ]);
    expect(series.map((s) => [s.label, s.colour])).toEqual([
      ['b', 0],
      ['a', 1],
    ]);
    const chart = measureChart(
      [usage('a', '2026-01', 1), usage('b', '2026-01', 9), usage('a', '2026-02', 1), usage('b', '2026-02', 0)],
      months,
      series,
      'runs',
      200,
      100,
    );
    expect(chart.values).toEqual([
      [9, 0],
      [1, 1],
    ]);
    expect(chart.totals).toEqual([10, 1]);
    // b has no bar in February, so its path draws one bar; a's draws two.
    expect(chart.paths.map((p) => p.d.split('M').length - 1)).toEqual([1, 2]);
  });

  it('keeps a colour for the workspaces using the most and stacks the rest together, so nothing is left out of a total', () => {
    const months = monthRange('2024-07', '2026-06');
    const items = answer(100, months);
    const series = usageSeries(items);
    expect(series).toHaveLength(SERIES_COLOURS);
    expect(series.at(-1)?.colour).toBeNull();
    expect(series.at(-1)?.workspaces).toHaveLength(100 - (SERIES_COLOURS - 1));
    expect(series[0]?.label).toBe('ws-099');
    const chart = measureChart(items, months, series, 'runs', 500, 150);
    const expected = months.map((_, m) => items.filter((i) => i.month === months[m]).reduce((sum, i) => sum + i.runs, 0));
    expect(chart.totals).toEqual(expected);
    expect(chart.values.reduce((sum, row) => sum + (row[23] ?? 0), 0)).toBe(expected[23]);
    // One path per band, however many workspaces and months.
    expect(chart.paths).toHaveLength(SERIES_COLOURS);
    expect(chart.max).toBeGreaterThanOrEqual(Math.max(...expected));
  });

  it('steps the axis of bytes and compute in whole units of them', () => {
    expect(measureAxis('bytes', 1_500_000_000)).toEqual({ max: 2_000_000_000, step: 1_000_000_000, scale: 1_000_000_000 });
    expect(measureAxis('seconds', 10_000)).toEqual({ max: 3 * 3600, step: 3600, scale: 3600 });
    expect(measureAxis('seconds', 600)).toEqual({ max: 10 * 60, step: 5 * 60, scale: 60 });
    expect(measureAxis('count', 0)).toEqual({ max: 1, step: 1, scale: 1 });
  });

  it('labels the axis in the unit of the largest month, even when its rounded-up top reaches the next unit', () => {
    // 50 minutes: the axis tops out at an hour, but its steps are 20 minutes, not hours.
    const months = ['2026-01'];
    const items = [usage('a', '2026-01', 0, { computeSeconds: 3_000 })];
    const html = renderToStaticMarkup(
      <UsageChart items={items} months={months} series={usageSeries(items)} measure="computeSeconds" />,
    );
    const grid = html.slice(html.indexOf('class="chart-grid"'), html.indexOf('</g></g><g transform'));
    const labels = [...grid.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    expect(labels).toEqual(['0', '20m', '40m', '60m']);
  });

  it('names each chart for what it draws and over which months, for people who cannot see it', () => {
    const months = ['2026-01', '2026-02'];
    const items = [usage('a', '2026-01', 3, { logBytes: 2_000 }), usage('a', '2026-02', 4, { logBytes: 0 })];
    const series = usageSeries(items);
    for (const measure of USAGE_MEASURES) {
      const html = renderToStaticMarkup(<UsageChart items={items} months={months} series={series} measure={measure} />);
      expect(html).toMatch(/role="img" aria-label="[^"]+ per month by workspace, Jan 2026 to Feb 2026"/);
      expect(html).toContain(`data-measure="${measure}"`);
    }
    const runs = renderToStaticMarkup(<UsageChart items={items} months={months} series={series} measure="runs" />);
    expect(runs).toContain('<title>Jan 2026: 3 runs\na: 3</title>');
  });
});
