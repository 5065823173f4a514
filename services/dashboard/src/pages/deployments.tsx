import type { Deployment, DeploymentListResponse, RunWaitingFor, WorkPool } from '@outpost/sdk/contracts';
import { useCallback, useEffect, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { DEPLOYMENTS_PAGE_SIZE } from '../api/first-reads.js';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { PoolWaitingBanner } from '../components/pool-waiting-banner.js';
import { SourceText } from '../components/source-text.js';
import { PausedPill } from '../components/status-pill.js';
import { TableHead } from '../components/table-head.js';
import { TagList } from '../components/tag-list.js';
import { href } from '../router.js';
import { RunDialog } from './run-dialog.js';

export function DeploymentsPage() {
  const [items, setItems] = useState<Deployment[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [running, setRunning] = useState<Deployment | null>(null);

  const [pools, setPools] = useState<WorkPool[]>([]);

  const load = useCallback(async (cursor: string | null) => {
    setLoading(true);
    const [result, poolList] = await Promise.all([
      api.call('deploymentsList', { query: { limit: DEPLOYMENTS_PAGE_SIZE, cursor: cursor ?? undefined } }),
      api.call('poolsList', {}),
    ]);
    setLoading(false);
    if (poolList.ok) setPools(poolList.data.items);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    setError(null);
    const page: DeploymentListResponse = result.data;
    setItems((current) => (cursor ? [...current, ...page.items] : page.items));
    setNextCursor(page.nextCursor);
  }, []);

  useEffect(() => {
    void load(null);
  }, [load]);

  return (
    <div className="page">
      <div className="page-header">
        <h1>Deployments</h1>
      </div>
      {error && <Notice>{error}</Notice>}
      {stalledPools(items, pools).map((p) => (
        <PoolWaitingBanner key={p.name} pool={p.name} reason={p.reason} />
      ))}
      {items.length === 0 && !loading ? (
        <Empty>
          No deployments yet. Run <code>outpost deploy</code> in a flow project to register one.
        </Empty>
      ) : (
        <table className="grid-table" data-testid="deployments-table">
          <TableHead columns={['Deployment', 'Source', 'Pool / queue', 'Tags', 'Status', { hidden: 'Actions' }]} />
          <tbody>
            {items.map((d) => (
              <tr key={d.id} data-testid="deployment-row" data-deployment={`${d.flowName}/${d.name}`}>
                <td>
                  <div className="cell-main">
                    <a href={href(`/deployments/${d.id}`)} className="strong" data-testid="deployment-link">
                      {d.flowName}/{d.name}
                    </a>
                    <a href={href('/runs', { deployment: d.id })} className="muted small">
                      Runs
                    </a>
                    {d.description && <span className="muted small">{d.description}</span>}
                  </div>
                </td>
                <td>
                  <SourceText source={d.source} testId="deployment-row-source" />
                  <div className="muted small mono">{d.entrypoint}</div>
                </td>
                <td>
                  {d.workPool} / {d.workQueue}
                </td>
                <td>
                  <TagList tags={d.tags} />
                </td>
                <td>
                  <PausedPill paused={d.paused} />
                </td>
                <td className="num">
                  <button
                    type="button"
                    className="button button-primary"
                    onClick={() => setRunning(d)}
                    data-testid="deployment-run"
                  >
                    Run
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {nextCursor && (
        <div className="pager">
          <button
            type="button"
            className="button"
            disabled={loading}
            onClick={() => void load(nextCursor)}
            data-testid="deployments-more"
          >
            Load more
          </button>
        </div>
      )}
      {running && <RunDialog deployment={running} onClose={() => setRunning(null)} />}
    </div>
  );
}

/** The pools of the listed deployments whose runs cannot start now, and why. */
function stalledPools(deployments: Deployment[], pools: WorkPool[]): { name: string; reason: RunWaitingFor }[] {
  const used = new Set(deployments.map((d) => d.workPool));
  return pools
    .filter((p) => used.has(p.name) && (p.status === 'NOT_READY' || p.status === 'PAUSED'))
    .map((p) => ({ name: p.name, reason: p.status === 'PAUSED' ? ('pool_paused' as const) : ('no_worker' as const) }));
}
