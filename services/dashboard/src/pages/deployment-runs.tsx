import { DEFAULT_STATE_NAME, type FlowRun, type StateType } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { ChartGridlines } from '../components/chart-gridlines.js';
import { Empty } from '../components/notice.js';
import { StateSwatch, stateLegendTitle } from '../components/state-swatch.js';
import { durationBars } from '../lib/duration-chart.js';
import { formatDateTime, formatDuration } from '../lib/format.js';
import { upcomingFirst } from '../lib/run-order.js';
import { STACK_ORDER } from '../lib/stats-chart.js';
import { href } from '../router.js';
import { DurationScatterChart } from './duration-scatter-chart.js';
import { RunRow, RunsTable } from './runs.js';

const WIDTH = 960;
const HEIGHT = 200;
const PAD_LEFT = 56;
const PAD_TOP = 10;
const PAD_BOTTOM = 12;

/** How long each recent run took, coloured by its state (Prefect's deployment run history); a bar links to its run. */
export function DurationChart({ runs, now }: { runs: FlowRun[]; now: number }) {
  const chart = durationBars(runs, now, WIDTH - PAD_LEFT, HEIGHT - PAD_TOP - PAD_BOTTOM);
  const present = STACK_ORDER.filter((s) => chart.bars.some((b) => b.state === s));
  return (
    <figure className="chart duration-chart" data-testid="duration-chart">
      {/* no image role: each bar is a link to its run, and an image holds nothing focusable */}
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} aria-label="Duration of recent runs by final state">
        <ChartGridlines
          lines={chart.gridlines}
          left={PAD_LEFT}
          right={WIDTH}
          top={PAD_TOP}
          label={(g) => (g.ms === 0 ? '0' : formatDuration(g.ms))}
        />
        <g transform={`translate(${PAD_LEFT},${PAD_TOP})`}>
          {chart.bars.map((b) => (
            <a
              key={b.runId}
              href={href(`/runs/${b.runId}`)}
              aria-label={`${b.runName} · ${DEFAULT_STATE_NAME[b.state]} · ${formatDuration(b.durationMs)}`}
              data-testid="duration-bar"
              data-run-id={b.runId}
              data-state={b.state}
            >
              <rect x={b.x} y={b.y} width={b.width} height={b.height} className={`fill-${b.state.toLowerCase()}`}>
                <title>{`${b.runName} · ${DEFAULT_STATE_NAME[b.state]} · ${formatDuration(b.durationMs)} · ${formatDateTime(b.at)}`}</title>
              </rect>
            </a>
          ))}
        </g>
      </svg>
      <figcaption className="legend">
        {present.length === 0 ? (
          <span className="muted">No run of this deployment has started yet.</span>
        ) : (
          present.map((s: StateType) => (
            <span key={s} className="legend-item" title={stateLegendTitle(s)}>
              <StateSwatch state={s} />
              {DEFAULT_STATE_NAME[s]} {chart.bars.filter((b) => b.state === s).length}
            </span>
          ))
        )}
      </figcaption>
    </figure>
  );
}

/**
 * The deployment's latest runs: the duration chart (bars in start order, or dots over time) over
 * the runs table's rows, with a link to all of them.
 */
export function DeploymentRuns({ deploymentId, runs, now }: { deploymentId: string; runs: FlowRun[]; now: number }) {
  const [chart, setChart] = useState<'bars' | 'dots'>('bars');
  return (
    <section className="panel deployment-section" aria-labelledby="runs-heading" data-testid="deployment-runs">
      <div className="section-header">
        <h2 id="runs-heading">Runs</h2>
        <fieldset className="segmented" aria-label="Chart">
          {(['bars', 'dots'] as const).map((c) => (
            <button
              type="button"
              key={c}
              className={`segment${chart === c ? ' segment-on' : ''}`}
              aria-pressed={chart === c}
              onClick={() => setChart(c)}
              data-testid={`deployment-chart-${c}`}
            >
              {c === 'bars' ? 'Bars' : 'Over time'}
            </button>
          ))}
        </fieldset>
        <a href={href('/runs', { deployment: deploymentId })} className="small">
          All runs of this deployment →
        </a>
      </div>
      {chart === 'bars' ? (
        <DurationChart runs={runs} now={now} />
      ) : (
        <DurationScatterChart runs={runs} now={now} label="Duration of recent runs by start time and state" />
      )}
      <RunsTable>
        {runs.length === 0 ? (
          <Empty>No runs yet.</Empty>
        ) : (
          <div className="table-body deployment-runs-body">
            {upcomingFirst(runs).map((run) => (
              <RunRow key={run.id} run={run} now={now} onTag={(tag) => window.location.assign(href('/runs', { tag }))} />
            ))}
          </div>
        )}
      </RunsTable>
    </section>
  );
}
