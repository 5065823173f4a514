import { DEFAULT_STATE_NAME, type FlowRun } from '@outpost/sdk/contracts';
import { ChartGridlines } from '../components/chart-gridlines.js';
import { StateSwatch, stateLegendTitle } from '../components/state-swatch.js';
import { durationScatter } from '../lib/duration-scatter.js';
import { formatDateTime, formatDuration, pluralise } from '../lib/format.js';
import { STACK_ORDER } from '../lib/stats-chart.js';
import { href } from '../router.js';

const WIDTH = 960;
const HEIGHT = 220;
const PAD_LEFT = 56;
const PAD_RIGHT = 12;
const PAD_TOP = 10;
const PAD_BOTTOM = 24;
const RADIUS = 4;

const hourMinute = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', hour12: false });
const dayMonth = new Intl.DateTimeFormat(undefined, { day: 'numeric', month: 'short' });
const dayHour = new Intl.DateTimeFormat(undefined, {
  day: 'numeric',
  month: 'short',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

function timeLabel(t: number, spanMs: number): string {
  if (spanMs <= 86_400_000) return hourMinute.format(t);
  const local = new Date(t);
  return local.getHours() === 0 && local.getMinutes() === 0 ? dayMonth.format(t) : dayHour.format(t);
}

/** What a dot says of its run, to a screen reader and on hover. */
export function dotLabel(dot: {
  runName: string;
  state: FlowRun['state']['type'];
  durationMs: number;
  at: string;
  running: boolean;
}) {
  const took = dot.running ? `${formatDuration(dot.durationMs)} so far` : formatDuration(dot.durationMs);
  return `${dot.runName} · ${DEFAULT_STATE_NAME[dot.state]} · ${took} · started ${formatDateTime(dot.at)}`;
}

/**
 * Each run as a dot: across by when it started, up by how long it took (Prefect Cloud's flow-runs
 * scatter). A run still going is hollow, at its duration so far; each dot links to its run.
 */
export function DurationScatterChart({
  runs,
  now,
  label,
  className = '',
}: {
  runs: readonly FlowRun[];
  now: number;
  label: string;
  className?: string;
}) {
  const chart = durationScatter(runs, now, WIDTH - PAD_LEFT - PAD_RIGHT, HEIGHT - PAD_TOP - PAD_BOTTOM, {
    offsetMs: -new Date(now).getTimezoneOffset() * 60_000,
  });
  const present = STACK_ORDER.filter((s) => chart.dots.some((d) => d.state === s));
  const running = chart.dots.filter((d) => d.running).length;
  return (
    <figure className={`chart scatter-chart ${className}`.trim()} data-testid="duration-scatter" data-scale={chart.scale}>
      {/* no image role: each dot is a link to its run, and an image holds nothing focusable */}
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} aria-label={label}>
        <ChartGridlines
          lines={chart.yTicks}
          left={PAD_LEFT}
          right={WIDTH - PAD_RIGHT}
          top={PAD_TOP}
          label={(g) => (g.ms === 0 ? '0' : formatDuration(g.ms))}
          testId="scatter-y-tick"
        />
        <g transform={`translate(${PAD_LEFT},${PAD_TOP})`}>
          {chart.xTicks.map((t) => (
            <text
              key={t.t}
              className="chart-label"
              x={t.x}
              y={HEIGHT - PAD_TOP - 6}
              textAnchor="middle"
              data-testid="scatter-x-tick"
            >
              {timeLabel(t.t, chart.toMs - chart.fromMs)}
            </text>
          ))}
          {chart.dots.map((d) => (
            <a
              key={d.runId}
              href={href(`/runs/${d.runId}`)}
              aria-label={dotLabel(d)}
              data-testid="scatter-dot"
              data-run-id={d.runId}
              data-state={d.state}
              data-running={d.running}
            >
              <circle
                cx={d.x}
                cy={d.y}
                r={RADIUS}
                className={d.running ? `scatter-running stroke-${d.state.toLowerCase()}` : `fill-${d.state.toLowerCase()}`}
              >
                <title>{dotLabel(d)}</title>
              </circle>
            </a>
          ))}
        </g>
      </svg>
      <figcaption className="legend">
        {present.length === 0 ? (
          <span className="muted">No run here has started yet.</span>
        ) : (
          <>
            {present.map((s) => (
              <span key={s} className="legend-item" title={stateLegendTitle(s)}>
                <StateSwatch state={s} />
                {DEFAULT_STATE_NAME[s]} {chart.dots.filter((d) => d.state === s).length}
              </span>
            ))}
            {running > 0 && <span className="legend-item muted">hollow: {pluralise(running, 'run')} still going</span>}
            {chart.scale === 'log' && <span className="legend-item muted">durations on a log scale</span>}
          </>
        )}
      </figcaption>
    </figure>
  );
}
