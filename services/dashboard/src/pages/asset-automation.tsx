import type {
  Asset,
  AssetAutomationEvaluation,
  AssetAutomationPolicy,
  AssetCron,
  AssetFreshnessPolicy,
} from '@outpost/sdk/contracts';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime, pluralise } from '../lib/format.js';
import { href } from '../router.js';

const POLL_MS = 5000;
const EVALUATIONS_SHOWN = 20;

const REASON_TEXT: Record<AssetAutomationEvaluation['reason'], string> = {
  upstream_updated: 'upstream updated',
  cron: 'cron tick',
  missing: 'missing',
};

const SKIP_TEXT: Record<NonNullable<AssetAutomationEvaluation['skipReason']>, string> = {
  in_flight: 'a run is already materialising it',
  upstream_in_flight: 'a run is materialising an upstream',
  blocked: 'a blocking check fails',
  already_requested: 'already requested for this cause',
  failed: 'the run for this cause failed',
};

function cronText(cron: AssetCron): string {
  return `cron ${cron.cron} (${cron.timezone})`;
}

function minutesText(minutes: number): string {
  if (minutes < 1) return pluralise(Math.round(minutes * 60), 'second');
  if (minutes % 60 === 0) return pluralise(minutes / 60, 'hour');
  return pluralise(minutes, 'minute');
}

/** The automation policy in words: "Materialised when an upstream is updated, or when missing." */
export function describeAutomation(policy: AssetAutomationPolicy | null): string {
  if (!policy) return 'Not automated: it is materialised only when someone or something starts a run.';
  const when: string[] = [];
  if (policy.onUpstreamUpdate) when.push('when an upstream is materialised after it');
  if (policy.cron) when.push(`at each tick of ${cronText(policy.cron)} if an upstream changed`);
  if (policy.onMissing) when.push('when it was never materialised');
  return `Materialised automatically ${when.join(', or ')}.`;
}

/** The freshness bound in words: "At most 30 minutes old." */
export function describeFreshness(policy: AssetFreshnessPolicy | null): string {
  if (!policy) return 'No freshness bound.';
  const lag = minutesText(policy.maxLagMinutes);
  return policy.cron
    ? `At each tick of ${cronText(policy.cron)}, holds data at most ${lag} older than the tick.`
    : `At most ${lag} old.`;
}

/** An asset's automation: its policy and freshness bound in words, where freshness stands, and what the automation loop decided lately. */
export function AssetAutomation({ asset }: { asset: Asset }) {
  const evaluations = useResource(
    (signal) => api.call('assetsEvaluations', { query: { key: asset.key, limit: EVALUATIONS_SHOWN }, signal }),
    [asset.key],
    { pollMs: POLL_MS },
  );
  const state = asset.freshnessState;
  return (
    <section className="panel" aria-label="Automation" data-testid="asset-automation">
      <div className="panel-header">
        <h2>Automation</h2>
      </div>
      <p data-testid="asset-automation-policy">{describeAutomation(asset.automation)}</p>
      <p data-testid="asset-freshness-policy">
        {describeFreshness(asset.freshness)}{' '}
        {state &&
          (state.status === 'VIOLATED' ? (
            <span className="badge health-overdue" data-testid="asset-freshness-state" data-status={state.status}>
              Overdue by {minutesText(state.overdueMinutes)}
            </span>
          ) : (
            <span className="badge health-fresh" data-testid="asset-freshness-state" data-status={state.status}>
              Within bound
            </span>
          ))}
      </p>
      {state && (
        <p className="muted small" data-testid="asset-freshness-detail">
          Data written before {formatDateTime(state.deadline)} is too old now; last materialised{' '}
          {state.lastMaterializedAt ? formatDateTime(state.lastMaterializedAt) : 'never'}.
        </p>
      )}
      <h3>Recent evaluations</h3>
      {evaluations.error && <Notice>{evaluations.error}</Notice>}
      {evaluations.data && evaluations.data.items.length === 0 ? (
        <Empty>The automation loop has not decided anything for this asset.</Empty>
      ) : (
        <table className="grid-table compact" data-testid="asset-evaluations">
          <TableHead columns={['Time', 'Partition', 'Outcome', 'Reason', 'Run']} />
          <tbody>
            {evaluations.data?.items.map((e) => (
              <tr key={e.id} data-testid="asset-evaluation" data-outcome={e.outcome}>
                <td>{formatDateTime(e.createdAt)}</td>
                <td className="mono">{e.partitionKey ?? '—'}</td>
                <td>
                  <span className={`badge ${e.outcome === 'REQUESTED' ? 'state-completed' : 'state-cancelled'}`}>
                    {e.outcome === 'REQUESTED' ? 'Requested' : 'Skipped'}
                  </span>
                  {e.skipReason && <span className="muted small"> {SKIP_TEXT[e.skipReason]}</span>}
                </td>
                <td title={e.message}>
                  {REASON_TEXT[e.reason]}: {e.message}
                </td>
                <td>
                  {e.flowRunId ? (
                    <a href={href(`/runs/${e.flowRunId}`)} data-testid="asset-evaluation-run">
                      Run
                    </a>
                  ) : (
                    '—'
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
