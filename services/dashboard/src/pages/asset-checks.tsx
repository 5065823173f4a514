import type { AssetCheckFailure, AssetCheckResult, AssetCheckStatus, AssetCheckWaiver } from '@outpost/sdk/contracts';
import { Empty } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { formatMetadataValue } from '../lib/asset-metadata.js';
import { checkVerdict } from '../lib/check-verdict.js';
import { formatDateTime, pluralise } from '../lib/format.js';
import { href } from '../router.js';

const COLUMNS = 6;

/**
 * An asset's declared checks. A partitioned check passes or fails per partition, so each check says
 * where it stands over all partitions (blocking, failing, passing), its newest result and which
 * partition that was for, then lists the partitions whose own latest result failed, each with the
 * waiver that lifts it or (for admins) a way to waive it.
 */
export function AssetChecks({
  checks,
  canWaive,
  onWaive,
}: {
  checks: readonly AssetCheckStatus[];
  canWaive: boolean;
  onWaive: (check: AssetCheckStatus, partitionKey: string | null) => void;
}) {
  if (checks.length === 0) return <Empty>No checks are declared for this asset.</Empty>;
  return (
    <table className="grid-table compact check-table" data-testid="asset-checks">
      <TableHead columns={['Check', 'Kind', 'Status', 'Newest result', 'Metadata', 'Waiver']} />
      {checks.map((c) => {
        const verdict = checkVerdict(c);
        return (
          <tbody key={c.name}>
            <tr
              data-testid="asset-check"
              data-check={c.name}
              data-status={verdict.status}
              data-passed={c.latest ? String(c.latest.passed) : 'none'}
              data-blocks={String(c.blocksDownstream)}
            >
              <td>
                <div className="cell-main">
                  <span className="strong mono check-name" title={c.name}>
                    {c.name}
                  </span>
                  {c.description && <span className="muted small">{c.description}</span>}
                </div>
              </td>
              <td>
                {c.blocking ? <span className="pill pill-paused">blocking</span> : <span className="muted">non-blocking</span>}{' '}
                <span className="muted small">{c.severity}</span>
              </td>
              <td data-testid="asset-check-status">
                <span className={verdict.className}>{verdict.label}</span>
              </td>
              <td data-testid="asset-check-latest">
                {c.latest ? <ResultSummary result={c.latest} /> : <span className="muted">—</span>}
              </td>
              <td className="metadata-value" title={c.latest ? JSON.stringify(c.latest.metadata) : undefined}>
                {c.latest ? metadataText(c.latest) : '—'}
              </td>
              <td data-testid="asset-check-waiver">
                {c.waiver ? <WaiverText waiver={c.waiver} /> : <span className="muted">—</span>}
              </td>
            </tr>
            {c.failures.length > 0 && (
              <tr className="check-failures-row">
                <td colSpan={COLUMNS}>
                  <CheckFailures check={c} canWaive={canWaive} onWaive={onWaive} />
                </td>
              </tr>
            )}
          </tbody>
        );
      })}
    </table>
  );
}

function CheckFailures({
  check,
  canWaive,
  onWaive,
}: {
  check: AssetCheckStatus;
  canWaive: boolean;
  onWaive: (check: AssetCheckStatus, partitionKey: string | null) => void;
}) {
  const partitioned = check.failures.some((f) => f.result.partitionKey !== null);
  const shown = check.failures.length;
  return (
    <div className="check-failures" data-testid="asset-check-failures" data-check={check.name}>
      <p className="small muted">
        {partitioned
          ? `${pluralise(check.failureCount, 'partition')} failed ${check.name} in ${check.failureCount === 1 ? 'its' : 'their'} latest result`
          : `The latest result of ${check.name} failed`}
        {shown < check.failureCount ? ` (the newest ${shown} are listed)` : ''}:
      </p>
      <ul className="check-failure-list">
        {check.failures.map((f) => (
          <FailureItem key={f.result.id} check={check} failure={f} canWaive={canWaive} onWaive={onWaive} />
        ))}
      </ul>
    </div>
  );
}

function FailureItem({
  check,
  failure,
  canWaive,
  onWaive,
}: {
  check: AssetCheckStatus;
  failure: AssetCheckFailure;
  canWaive: boolean;
  onWaive: (check: AssetCheckStatus, partitionKey: string | null) => void;
}) {
  const { result, waiver } = failure;
  return (
    <li
      className="check-failure"
      data-testid="asset-check-failure"
      data-partition={result.partitionKey ?? ''}
      data-blocks={String(failure.blocks)}
      data-waived={String(waiver !== null)}
    >
      <span className="mono">{result.partitionKey ?? 'unpartitioned'}</span>
      <span className="check-failed">{failure.blocks ? 'Failed · blocks downstream' : 'Failed'}</span>
      <a href={href(`/runs/${result.flowRunId}`)} className="small">
        {formatDateTime(result.createdAt)}
      </a>
      <span className="metadata-value small" title={JSON.stringify(result.metadata)}>
        {metadataText(result)}
      </span>
      {waiver ? (
        <span className="small" data-testid="asset-check-failure-waiver">
          <WaiverText waiver={waiver} />
        </span>
      ) : (
        canWaive &&
        failure.blocks && (
          <button
            type="button"
            className="button button-danger"
            onClick={() => onWaive(check, result.partitionKey)}
            data-testid="asset-check-waive"
          >
            Waive
          </button>
        )
      )}
    </li>
  );
}

function ResultSummary({ result }: { result: AssetCheckResult }) {
  return (
    <span className="check-result">
      <span className={result.passed ? 'check-passed' : 'check-failed'}>{result.passed ? 'Passed' : 'Failed'}</span>
      {result.partitionKey !== null && (
        <>
          {' '}
          <span className="muted small">for</span> <span className="mono small">{result.partitionKey}</span>
        </>
      )}
      <br />
      <a href={href(`/runs/${result.flowRunId}`)} className="small">
        {formatDateTime(result.createdAt)}
      </a>
    </span>
  );
}

function WaiverText({ waiver }: { waiver: AssetCheckWaiver }) {
  return (
    <span title={waiver.reason}>
      waived
      {waiver.partitionKey ? (
        <>
          {' '}
          for <span className="mono">{waiver.partitionKey}</span>
        </>
      ) : (
        ''
      )}{' '}
      by <span className="strong">{waiver.waivedBy}</span> · <span className="muted">{waiver.reason}</span>
    </span>
  );
}

function metadataText(result: AssetCheckResult): string {
  return (
    Object.entries(result.metadata)
      .map(([k, v]) => `${k}: ${formatMetadataValue(k, v)}`)
      .join(', ') || '—'
  );
}
