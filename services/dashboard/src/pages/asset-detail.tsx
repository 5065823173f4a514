import type { Asset, AssetCheckStatus, PartitionSelection, Role } from '@outpost/sdk/contracts';
import { useEffect, useRef, useState } from 'react';
import { missingOn404 } from '../api/client.js';
import { MATERIALIZATIONS_SHOWN } from '../api/first-reads.js';
import { api } from '../api/instance.js';
import { Breadcrumbs } from '../components/breadcrumbs.js';
import { Fact } from '../components/fact.js';
import { HealthBadge } from '../components/health-badge.js';
import { Empty, Notice } from '../components/notice.js';
import { PageLoading, PageNotFound } from '../components/page-placeholder.js';
import { TagList } from '../components/tag-list.js';
import { useResource } from '../hooks/use-resource.js';
import { mayCall } from '../lib/asset-metadata.js';
import { blockedReason } from '../lib/check-verdict.js';
import { formatDateTime } from '../lib/format.js';
import { describePartitions } from '../lib/partitions-text.js';
import { assetPath, href } from '../router.js';
import { AssetAutomation } from './asset-automation.js';
import { AssetChecks } from './asset-checks.js';
import { AssetMaterializations } from './asset-materializations.js';
import { MaterializeDialog } from './asset-materialize-dialog.js';
import { AssetMetadataChart } from './asset-metadata-chart.js';
import { AssetPartitions } from './asset-partitions.js';
import { AssetProvenance } from './asset-provenance.js';
import { WaiveDialog } from './asset-waive-dialog.js';

const POLL_MS = 5000;
/** How many materialisations the metadata chart reads: the most the API gives in one page. */
const CHARTED = 200;

/**
 * One asset: its definition (upstream and downstream as links, owners, code version, partitions in
 * words), why it is stale, its checks, the partition grid, and its latest materialisations with
 * their declared metadata, each numeric metadata key charted over time. Re-read every few seconds,
 * so a running materialisation shows up.
 */
export function AssetDetailPage({ assetKey, role }: { assetKey: string; role: Role | null }) {
  // A 404 is an answer here (no such asset), not a failure to show.
  const asset = useResource<Asset | 'missing'>(
    async (signal) => missingOn404(await api.call('assetsGet', { query: { key: assetKey }, signal })),
    [assetKey],
    { pollMs: POLL_MS },
  );
  const materializations = useResource(
    (signal) => api.call('assetsMaterializations', { query: { key: assetKey, limit: MATERIALIZATIONS_SHOWN }, signal }),
    [assetKey],
    { pollMs: POLL_MS },
  );
  // The chart reads a longer history, once, and again only when a new materialisation lands.
  const history = useResource(
    (signal) => api.call('assetsMaterializations', { query: { key: assetKey, limit: CHARTED }, signal }),
    [assetKey],
  );
  const latestId = asset.data && asset.data !== 'missing' ? (asset.data.latest?.id ?? null) : undefined;
  const chartedLatest = useRef<{ key: string; id: string | null } | null>(null);
  const reloadHistory = history.reload;
  useEffect(() => {
    if (latestId === undefined) return;
    const seen = chartedLatest.current;
    if (seen && seen.key === assetKey && seen.id !== latestId) void reloadHistory();
    chartedLatest.current = { key: assetKey, id: latestId };
  }, [assetKey, latestId, reloadHistory]);
  const [materializing, setMaterializing] = useState<{ selection: PartitionSelection | null } | null>(null);
  const [waiving, setWaiving] = useState<{ check: AssetCheckStatus; partitionKey: string | null } | null>(null);
  const [waived, setWaived] = useState<string | null>(null);
  const canMaterialize = mayCall(role, 'assetsMaterialize');
  const canWaive = mayCall(role, 'assetsWaive');

  const a = asset.data;
  if (a === 'missing') {
    return (
      <PageNotFound title="Asset not found" to="/assets" backLabel="Back to assets">
        No asset <span className="mono">{assetKey}</span> is defined in this workspace.
      </PageNotFound>
    );
  }
  if (!a) {
    return <PageLoading error={asset.error}>Loading asset…</PageLoading>;
  }

  const blocked = blockedReason(a);
  // The grid re-reads when anything about the partitions may have moved.
  const partitionsVersion = `${a.latest?.id ?? ''}/${a.updatedAt}/${JSON.stringify(a.partitionCounts)}`;
  return (
    <div className="page asset-detail" data-testid="asset-detail" data-asset={a.key}>
      <Breadcrumbs to="/assets" label="Assets">
        {a.key}
      </Breadcrumbs>
      <div className="page-header">
        <div className="title-block">
          <h1 className="asset-title" data-testid="asset-key">
            {a.key}
          </h1>
          <HealthBadge health={a.health} reason={blocked ?? a.stale[0]?.message ?? null} />
        </div>
        <div className="actions">
          <a className="button" href={href('/lineage', { focus: a.key })} data-testid="asset-open-lineage">
            Lineage
          </a>
          {canMaterialize && (
            <button
              type="button"
              className="button button-primary"
              onClick={() => setMaterializing({ selection: null })}
              data-testid="asset-materialize"
            >
              Materialize…
            </button>
          )}
        </div>
      </div>
      {a.description && <p className="asset-description">{a.description}</p>}
      {blocked && (
        <Notice kind="warning" testId="asset-blocked">
          {blocked}
        </Notice>
      )}
      {asset.error && <Notice>{asset.error}</Notice>}
      {waived && (
        <Notice kind="success" testId="asset-waived">
          {waived}
        </Notice>
      )}
      {a.stale.length > 0 && (
        <Notice kind="warning" testId="asset-stale-reasons">
          <strong>Stale:</strong>
          <ul className="stale-list">
            {a.stale.map((r) => (
              <li key={`${r.kind}/${r.upstream ?? ''}/${r.message}`} data-testid="asset-stale-reason" data-kind={r.kind}>
                {r.upstream ? (
                  <>
                    {r.message} (<a href={href(assetPath(r.upstream))}>{r.upstream}</a>)
                  </>
                ) : (
                  r.message
                )}
              </li>
            ))}
          </ul>
        </Notice>
      )}
      <dl className="facts">
        <Fact label="Deployment">
          <a href={href('/runs', { deployment: a.deploymentId })}>{a.deploymentName}</a>
        </Fact>
        <Fact label="Group">{a.group ?? '—'}</Fact>
        <Fact label="Owners" testId="asset-owners">
          {a.owners.length > 0 ? a.owners.join(', ') : '—'}
        </Fact>
        <Fact label="Code version" testId="asset-code-version">
          <span className="mono" title={a.codeVersion}>
            {a.codeVersion.slice(0, 16)}
          </span>
        </Fact>
        <Fact label="I/O manager">{a.io ?? '—'}</Fact>
        <Fact label="Last materialised">
          {a.latest ? <a href={href(`/runs/${a.latest.flowRunId}`)}>{formatDateTime(a.latest.createdAt)}</a> : 'never'}
        </Fact>
        <Fact label="Tags">
          <TagList tags={a.tags} />
        </Fact>
        <Fact label="Partitions" testId="asset-partitions-definition" wide>
          <span title={describePartitions(a.partitions)}>
            {describePartitions(a.partitions)}
            {a.acceptsRange ? ' · materialises ranges in one run' : ''}
          </span>
        </Fact>
      </dl>
      <section className="panel" aria-label="Lineage">
        <div className="two-columns">
          <div>
            <h3>Upstream</h3>
            <AssetLinks keys={a.deps} testId="asset-dep" empty="No upstream assets." />
          </div>
          <div>
            <h3>Downstream</h3>
            <AssetLinks keys={a.dependents} testId="asset-dependent" empty="No downstream assets." />
          </div>
        </div>
      </section>
      <AssetAutomation asset={a} />
      <section className="panel" aria-label="Checks">
        <div className="panel-header">
          <h2>Checks</h2>
          <span className="muted small">{a.checks.length}</span>
        </div>
        <AssetChecks
          checks={a.checks}
          canWaive={canWaive}
          onWaive={(check, partitionKey) => setWaiving({ check, partitionKey })}
        />
      </section>
      {a.partitions && (
        <section className="panel" aria-label="Partitions">
          <div className="panel-header">
            <h2>Partitions</h2>
          </div>
          <AssetPartitions
            assetKey={a.key}
            version={partitionsVersion}
            canMaterialize={canMaterialize}
            onMaterialize={(selection) => setMaterializing({ selection })}
          />
        </section>
      )}
      <section className="panel" aria-label="Materialisations">
        <div className="panel-header">
          <h2>Latest materialisations</h2>
        </div>
        {materializations.error && <Notice>{materializations.error}</Notice>}
        {materializations.data ? (
          <AssetMaterializations items={materializations.data.items} />
        ) : (
          !materializations.error && <p className="muted">Loading…</p>
        )}
      </section>
      <section className="panel" aria-label="Metadata over time">
        <div className="panel-header">
          <h2>Metadata over time</h2>
        </div>
        {history.error && <Notice>{history.error}</Notice>}
        {history.data ? <AssetMetadataChart items={history.data.items} /> : !history.error && <p className="muted">Loading…</p>}
      </section>
      <section className="panel" aria-label="What produced this">
        <div className="panel-header">
          <h2>What produced this</h2>
        </div>
        {a.latest ? (
          <AssetProvenance assetKey={a.key} recent={materializations.data?.items ?? []} />
        ) : (
          <Empty>Not materialised yet.</Empty>
        )}
      </section>
      {materializing && (
        <MaterializeDialog
          assets={[a]}
          selection={materializing.selection}
          defaultPartition={a.latest?.partitionKey ?? null}
          onClose={() => setMaterializing(null)}
          onStarted={() => void asset.reload()}
        />
      )}
      {waiving && (
        <WaiveDialog
          assetKey={a.key}
          check={waiving.check}
          partitionKey={waiving.partitionKey}
          onClose={() => setWaiving(null)}
          onWaived={() => {
            setWaived(`Check ${waiving.check.name} waived: downstream assets may be materialised again.`);
            void asset.reload();
          }}
        />
      )}
    </div>
  );
}

function AssetLinks({ keys, testId, empty }: { keys: readonly string[]; testId: string; empty: string }) {
  if (keys.length === 0) return <p className="muted small">{empty}</p>;
  return (
    <ul className="link-list">
      {keys.map((k) => (
        <li key={k}>
          <a href={href(assetPath(k))} data-testid={testId} data-asset={k}>
            {k}
          </a>
        </li>
      ))}
    </ul>
  );
}
