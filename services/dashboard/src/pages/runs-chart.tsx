import { DEFAULT_STATE_NAME, type StatsOverviewResponse } from '@outpost/sdk/contracts';
import { ChartGridlines } from '../components/chart-gridlines.js';
import { StateSwatch, stateLegendTitle } from '../components/state-swatch.js';
import { STACK_ORDER, stackedBars } from '../lib/stats-chart.js';

const WIDTH = 960;
const HEIGHT = 220;
const PAD_LEFT = 40;
const PAD_BOTTOM = 22;
const PAD_TOP = 10;

const hourMinute = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const dayHour = new Intl.DateTimeFormat(undefined, { weekday: 'short', hour: '2-digit', hour12: false });

/** Stacked bars in plain SVG; colours come from the stylesheet's state classes. */
export function RunsChart({ stats }: { stats: StatsOverviewResponse }) {
  const chart = stackedBars(stats.buckets, WIDTH - PAD_LEFT, HEIGHT - PAD_BOTTOM - PAD_TOP);
  const format = stats.bucketSeconds >= 21_600 ? dayHour : hourMinute;
  const labelEvery = Math.max(1, Math.ceil(stats.buckets.length / 8));
  const slot = (WIDTH - PAD_LEFT) / Math.max(1, stats.buckets.length);
  const present = STACK_ORDER.filter((s) => (stats.totals.counts[s] ?? 0) > 0);
  return (
    <figure className="chart" data-testid="runs-chart">
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-label="Runs by state over time">
        <ChartGridlines lines={chart.gridlines} left={PAD_LEFT} right={WIDTH} top={PAD_TOP} label={(g) => g.value} />
        <g transform={`translate(${PAD_LEFT},${PAD_TOP})`}>
          {chart.rects.map((r) => (
            <rect
              key={`${r.bucket}-${r.state}`}
              x={r.x}
              y={r.y}
              width={r.width}
              height={r.height}
              className={`fill-${r.state.toLowerCase()}`}
            >
              <title>{`${DEFAULT_STATE_NAME[r.state]}: ${r.count}`}</title>
            </rect>
          ))}
          {stats.buckets.map((b, i) =>
            i % labelEvery === 0 ? (
              <text key={b.start} className="chart-label" x={i * slot + slot / 2} y={HEIGHT - PAD_TOP - 6} textAnchor="middle">
                {format.format(Date.parse(b.start))}
              </text>
            ) : null,
          )}
        </g>
      </svg>
      <figcaption className="legend">
        {present.length === 0 ? (
          <span className="muted">No runs in this window.</span>
        ) : (
          present.map((s) => (
            <span key={s} className="legend-item" title={stateLegendTitle(s)}>
              <StateSwatch state={s} />
              {DEFAULT_STATE_NAME[s]} {(stats.totals.counts[s] ?? 0).toLocaleString()}
            </span>
          ))
        )}
      </figcaption>
    </figure>
  );
}
