import type { UsageMeasure, WorkspaceMonthUsage } from '@outpost/sdk/contracts';
import { memo, useMemo, useState } from 'react';
import { ChartGridlines } from '../components/chart-gridlines.js';
import { axisLabel, formatMeasure, MEASURE_TEXT, measureChart, monthLabel, monthShort, type UsageSeries } from '../lib/usage.js';

const WIDTH = 560;
const HEIGHT = 190;
const PAD_LEFT = 52;
const PAD_TOP = 8;
const PAD_BOTTOM = 30;
const PLOT_WIDTH = WIDTH - PAD_LEFT;
const PLOT_HEIGHT = HEIGHT - PAD_TOP - PAD_BOTTOM;

/** The class that paints a band: its own colour, or the shared grey of the rest. */
export function seriesClass(series: UsageSeries): string {
  return series.colour === null ? 'usage-series-other' : `usage-series-${series.colour}`;
}

/**
 * One measure over the months, stacked by workspace, in plain SVG: a path per band and a hover
 * target per month whose tooltip breaks the month down. Its figures are also a table, under a
 * disclosure that builds the table only when opened.
 */
export const UsageChart = memo(function UsageChart({
  items,
  months,
  series,
  measure,
}: {
  items: readonly WorkspaceMonthUsage[];
  months: readonly string[];
  series: readonly UsageSeries[];
  measure: UsageMeasure;
}) {
  const chart = useMemo(
    () => measureChart(items, months, series, measure, PLOT_WIDTH, PLOT_HEIGHT),
    [items, months, series, measure],
  );
  const [tableOpen, setTableOpen] = useState(false);
  const { label, unit, noun } = MEASURE_TEXT[measure];
  const { scale } = chart;
  const labelEvery = Math.max(1, Math.ceil(months.length / 8));
  const first = months[0];
  const last = months.at(-1);
  const range = first && last ? (first === last ? monthLabel(first) : `${monthLabel(first)} to ${monthLabel(last)}`) : '';
  const figure = (value: number) => `${formatMeasure(measure, value)}${unit === 'count' ? ` ${noun}` : ''}`;

  return (
    <figure className="chart usage-chart" data-testid="organisation-usage-chart" data-measure={measure}>
      <figcaption className="usage-chart-title">{label}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label={`${label} per month by workspace, ${range}`}>
        <ChartGridlines
          lines={chart.gridlines}
          left={PAD_LEFT}
          right={WIDTH}
          top={PAD_TOP}
          label={(g) => axisLabel(unit, g.value, scale)}
        />
        <g transform={`translate(${PAD_LEFT},${PAD_TOP})`}>
          {chart.paths.map((p) => {
            const band = series[p.series];
            return band ? <path key={band.label} d={p.d} className={seriesClass(band)} /> : null;
          })}
          {months.map((month, m) => (
            <rect
              key={month}
              className="usage-chart-target"
              x={m * chart.slot}
              y={0}
              width={chart.slot}
              height={PLOT_HEIGHT}
              data-month={month}
            >
              <title>
                {[
                  `${monthLabel(month)}: ${figure(chart.totals[m] ?? 0)}`,
                  ...series.flatMap((s, i) => {
                    const value = chart.values[i]?.[m] ?? 0;
                    return value > 0 ? [`${s.label}: ${formatMeasure(measure, value)}`] : [];
                  }),
                ].join('\n')}
              </title>
            </rect>
          ))}
          {months.map((month, m) => {
            if (m % labelEvery !== 0) return null;
            const x = m * chart.slot + chart.slot / 2;
            const year = month.slice(0, 4);
            const previous = m === 0 ? null : (months[m - labelEvery]?.slice(0, 4) ?? null);
            return (
              <text key={month} className="chart-label" x={x} y={PLOT_HEIGHT + 13} textAnchor="middle">
                {monthShort(month)}
                {year !== previous && (
                  <tspan x={x} dy={12}>
                    {year}
                  </tspan>
                )}
              </text>
            );
          })}
        </g>
      </svg>
      <details className="usage-chart-data" onToggle={(e) => setTableOpen(e.currentTarget.open)}>
        <summary>{label} as a table</summary>
        {tableOpen && (
          <table className="grid-table compact usage-table" data-testid="organisation-usage-chart-table">
            <caption className="visually-hidden">
              {label} per month by workspace, {range}
            </caption>
            <thead>
              <tr>
                <th scope="col">Month</th>
                {series.map((s) => (
                  <th key={s.label} scope="col" className="num">
                    {s.label}
                  </th>
                ))}
                {series.length > 1 && (
                  <th scope="col" className="num">
                    Total
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {months.map((month, m) => (
                <tr key={month}>
                  <th scope="row">{monthLabel(month)}</th>
                  {series.map((s, i) => (
                    <td key={s.label} className="num">
                      {formatMeasure(measure, chart.values[i]?.[m] ?? 0)}
                    </td>
                  ))}
                  {series.length > 1 && <td className="num">{formatMeasure(measure, chart.totals[m] ?? 0)}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </details>
    </figure>
  );
});
