import type { AssetCheckStatus } from '@outpost/sdk/contracts';
import { Empty } from '../components/notice.js';
import { formatMetadataValue } from '../lib/asset-metadata.js';
import { formatDateTime } from '../lib/format.js';
import { href } from '../router.js';

/** An asset's declared checks, each with its latest result, any waiver, and (for admins) a way to waive a failure. */
export function AssetChecks({
  checks,
  canWaive,
  onWaive,
}: {
  checks: readonly AssetCheckStatus[];
  canWaive: boolean;
  onWaive: (check: AssetCheckStatus) => void;
}) {
  if (checks.length === 0) return <Empty>No checks are declared for this asset.</Empty>;
  return (
    <table className="grid-table compact" data-testid="asset-checks">
      <thead>
        <tr>
          <th>Check</th>
          <th>Kind</th>
          <th>Latest result</th>
          <th>Partition</th>
          <th>When</th>
          <th>Metadata</th>
          <th>Waiver</th>
          {canWaive && <th aria-label="Actions" />}
        </tr>
      </thead>
      <tbody>
        {checks.map((c) => {
          const latest = c.latest;
          return (
            <tr
              key={c.name}
              data-testid="asset-check"
              data-check={c.name}
              data-passed={latest ? String(latest.passed) : 'none'}
              data-blocks={String(c.blocksDownstream)}
            >
              <td>
                <div className="cell-main">
                  <span className="strong mono">{c.name}</span>
                  {c.description && <span className="muted small">{c.description}</span>}
                </div>
              </td>
              <td>
                {c.blocking ? <span className="pill pill-paused">blocking</span> : <span className="muted">non-blocking</span>}{' '}
                <span className="muted small">{c.severity}</span>
              </td>
              <td>
                {!latest ? (
                  <span className="muted">not run yet</span>
                ) : latest.passed ? (
                  <span className="check-passed">Passed</span>
                ) : (
                  <span className="check-failed">Failed{c.blocksDownstream ? ' · blocks downstream' : ''}</span>
                )}
              </td>
              <td className="mono small">{latest?.partitionKey ?? '—'}</td>
              <td>{latest ? <a href={href(`/runs/${latest.flowRunId}`)}>{formatDateTime(latest.createdAt)}</a> : '—'}</td>
              <td className="metadata-value" title={latest ? JSON.stringify(latest.metadata) : undefined}>
                {latest
                  ? Object.entries(latest.metadata)
                      .map(([k, v]) => `${k}: ${formatMetadataValue(k, v)}`)
                      .join(', ') || '—'
                  : '—'}
              </td>
              <td data-testid="asset-check-waiver">
                {c.waiver ? (
                  <span title={c.waiver.reason}>
                    waived by {c.waiver.waivedBy} · <span className="muted">{c.waiver.reason}</span>
                  </span>
                ) : (
                  <span className="muted">—</span>
                )}
              </td>
              {canWaive && (
                <td className="num">
                  {latest && !latest.passed && c.blocksDownstream && (
                    <button
                      type="button"
                      className="button button-danger"
                      onClick={() => onWaive(c)}
                      data-testid="asset-check-waive"
                    >
                      Waive
                    </button>
                  )}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
