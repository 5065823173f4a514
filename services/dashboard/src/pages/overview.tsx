import type { StatsOverviewResponse, StatsWindow } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { formatRelative } from '../lib/format.js';
import { href } from '../router.js';
import { RunsChart } from './runs-chart.js';

const WINDOWS: { value: StatsWindow; label: string }[] = [
  { value: '1h', label: '1 hour' },
  { value: '24h', label: '24 hours' },
  { value: '7d', label: '7 days' },
];

export function OverviewPage() {
  const [span, setSpan] = useState<StatsWindow>('24h');
  const stats = useResource((signal) => api.call('statsOverview', { query: { window: span }, signal }), [span], {
    pollMs: 30_000,
  });
  return (
    <div className="page">
      <div className="page-header">
        <h1>Overview</h1>
        <fieldset className="segmented" aria-label="Window">
          {WINDOWS.map((w) => (
            <button
              type="button"
              key={w.value}
              className={`segment${w.value === span ? ' segment-on' : ''}`}
              aria-pressed={w.value === span}
              onClick={() => setSpan(w.value)}
              data-testid={`overview-window-${w.value}`}
            >
              {w.label}
            </button>
          ))}
        </fieldset>
      </div>
      {stats.error && <Notice>{stats.error}</Notice>}
      {stats.data ? <OverviewBody stats={stats.data} /> : !stats.error && <p className="muted">Loading…</p>}
    </div>
  );
}

function OverviewBody({ stats }: { stats: StatsOverviewResponse }) {
  const now = useNow(10_000);
  const failed = (stats.totals.counts.FAILED ?? 0) + (stats.totals.counts.CRASHED ?? 0);
  return (
    <>
      <div className="kpis">
        <div className="kpi" data-testid="kpi-runs">
          <span className="kpi-label">Runs</span>
          <span className="kpi-value">{stats.totals.runs.toLocaleString()}</span>
        </div>
        <div className="kpi" data-testid="kpi-failure-rate">
          <span className="kpi-label">Failure rate</span>
          <span className={`kpi-value${(stats.totals.failureRate ?? 0) > 0.1 ? ' kpi-bad' : ''}`}>
            {stats.totals.failureRate === null ? '—' : `${(stats.totals.failureRate * 100).toFixed(1)}%`}
          </span>
          <span className="muted small">{failed.toLocaleString()} failed or crashed</span>
        </div>
        <div className="kpi" data-testid="kpi-late">
          <span className="kpi-label">Late runs</span>
          <span className={`kpi-value${stats.late.count > 0 ? ' kpi-warn' : ''}`}>{stats.late.count.toLocaleString()}</span>
        </div>
        <div className="kpi">
          <span className="kpi-label">Running</span>
          <span className="kpi-value">{(stats.totals.counts.RUNNING ?? 0).toLocaleString()}</span>
        </div>
      </div>
      <section className="panel" aria-label="Runs by state">
        <div className="panel-header">
          <h2>Runs by state</h2>
        </div>
        <RunsChart stats={stats} />
      </section>
      <div className="two-columns">
        <section className="panel" aria-label="Busiest deployments">
          <div className="panel-header">
            <h2>Busiest deployments</h2>
          </div>
          {stats.busiestDeployments.length === 0 ? (
            <Empty>No runs in this window.</Empty>
          ) : (
            <table className="grid-table compact" data-testid="busiest-deployments">
              <TableHead columns={['Deployment', { label: 'Runs', className: 'num' }, { label: 'Failed', className: 'num' }]} />
              <tbody>
                {stats.busiestDeployments.map((d) => (
                  <tr key={d.deploymentId}>
                    <td>
                      <a href={href('/runs', { deployment: d.deploymentId })}>
                        {d.flowName}/{d.deploymentName}
                      </a>
                    </td>
                    <td className="num">{d.runs.toLocaleString()}</td>
                    <td className={`num${d.failed > 0 ? ' text-bad' : ''}`}>{d.failed.toLocaleString()}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
        <section className="panel" aria-label="Late runs">
          <div className="panel-header">
            <h2>Late runs</h2>
            <a href={href('/runs', { state: 'SCHEDULED' })} className="small">
              All scheduled
            </a>
          </div>
          {stats.late.items.length === 0 ? (
            <Empty>Nothing is late.</Empty>
          ) : (
            <table className="grid-table compact" data-testid="late-runs">
              <tbody>
                {stats.late.items.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <a href={href(`/runs/${r.id}`)}>{r.name}</a>
                      <div className="muted small">
                        {r.flowName}
                        {r.deploymentName ? `/${r.deploymentName}` : ''}
                      </div>
                    </td>
                    <td className="num">due {formatRelative(r.expectedStartTime, now)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </>
  );
}
