import type {
  AssetMaterialization,
  AssetMaterializationLineageResponse,
  LineageMaterialization,
  LineageRun,
} from '@outpost/sdk/contracts';
import { useState } from 'react';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime } from '../lib/format.js';
import { href } from '../router.js';

/**
 * "What produced this": the provenance of one materialisation (the latest unless one is chosen) —
 * the upstream materialisations it consumed, level by level, its checks and waivers, and where the
 * model was registered — with the same document as a JSON download for auditors.
 */
export function AssetProvenance({ assetKey, recent }: { assetKey: string; recent: readonly AssetMaterialization[] }) {
  const [at, setAt] = useState<string>('');
  const doc = useResource<AssetMaterializationLineageResponse | 'none'>(
    async (signal) => {
      const result = await api.call('assetsMaterializationLineage', {
        query: { key: assetKey, ...(at ? { at } : {}) },
        signal,
      });
      return !result.ok && result.kind === 'http_error' && result.status === 404
        ? { ok: true, status: 404, data: 'none' }
        : result;
    },
    [assetKey, at],
  );
  if (doc.data === 'none') return <Empty>Not materialised yet.</Empty>;
  const d = doc.data;
  const root = d?.materializations[0];
  return (
    <div data-testid="asset-provenance">
      <div className="toolbar">
        <label>
          Materialisation{' '}
          <select value={at} onChange={(e) => setAt(e.target.value)} data-testid="provenance-at">
            <option value="">Latest</option>
            {recent.map((m) => (
              <option key={m.id} value={m.id}>
                {formatDateTime(m.createdAt)}
                {m.partitionKey ? ` [${m.partitionKey}]` : ''} · {m.id.slice(0, 8)}
              </option>
            ))}
          </select>
        </label>{' '}
        <button
          type="button"
          className="button"
          disabled={!d}
          onClick={() => d && download(assetKey, d)}
          data-testid="provenance-export"
        >
          Export JSON
        </button>
      </div>
      {doc.error && <Notice>{doc.error}</Notice>}
      {!d || !root ? (
        !doc.error && <p className="muted">Loading…</p>
      ) : (
        <>
          <RootFacts m={root} />
          <div className="table-scroll" data-testid="provenance-upstream-scroll">
            <table className="grid-table compact" data-testid="provenance-upstream">
              <TableHead
                columns={[
                  { label: 'Level', className: 'num' },
                  'Upstream',
                  'Partition',
                  'Code version',
                  'Data version',
                  'Materialised',
                  'Run',
                ]}
              />
              <tbody>
                {d.materializations.slice(1).map((m) => (
                  <tr key={m.id} data-testid="provenance-node" data-asset={m.assetKey} data-partition={m.partitionKey ?? ''}>
                    <td className="num">{m.depth}</td>
                    <td className="mono">{m.assetKey}</td>
                    <td className="mono small">{m.partitionKey ?? '—'}</td>
                    <td className="mono small" title={m.codeVersion}>
                      {m.codeVersion.slice(0, 12)}
                    </td>
                    <td className="mono small" title={m.dataVersion ?? undefined}>
                      {m.dataVersion ? m.dataVersion.slice(0, 12) : '—'}
                    </td>
                    <td>{formatDateTime(m.createdAt)}</td>
                    <td>
                      <RunLink run={m.run} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {root.inputs.some((i) => i.partitions.length === 0) && (
            <p className="muted small">
              Never materialised when this was written:{' '}
              {root.inputs
                .filter((i) => i.partitions.length === 0)
                .map((i) => (i.partitionKey ? `${i.assetKey} [${i.partitionKey}]` : i.assetKey))
                .join(', ')}
            </p>
          )}
          {d.truncated && (
            <p className="muted small" data-testid="provenance-truncated">
              Cut short: {d.omitted} upstream materialisation(s) beyond {d.limits.maxDepth} level(s) or {d.limits.maxNodes}{' '}
              materialisations are not shown.
            </p>
          )}
        </>
      )}
    </div>
  );
}

function RootFacts({ m }: { m: LineageMaterialization }) {
  return (
    <ul className="plain-list provenance-facts" data-testid="provenance-root">
      <li>
        Run <RunLink run={m.run} /> (attempt {m.attempt}), code <span className="mono">{m.codeVersion}</span>
        {m.run.sourceDigest && (
          <>
            , bundle <span className="mono">{m.run.sourceDigest}</span>
          </>
        )}
      </li>
      {!m.inputsRecorded && <li className="muted">Inputs were not recorded for this materialisation.</li>}
      {m.registrations.map((r) => (
        <li key={r.registry} data-testid="provenance-registration">
          Registered in {r.registry}:{' '}
          <span className="mono">
            {Object.entries(r.details)
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
              .join(' ')}
          </span>
        </li>
      ))}
      {m.checks.map((c) => (
        <li key={c.resultId} data-testid="provenance-check">
          Check <span className="mono">{c.checkName}</span> {c.passed ? 'passed' : 'failed'} ({c.severity},{' '}
          {c.blocking ? 'blocking' : 'not blocking'})
          {c.waivers.map((w) => (
            <span key={w.id} data-testid="provenance-waiver">
              {' '}
              · waived by {w.waivedBy} on {formatDateTime(w.createdAt)}: “{w.reason}”
            </span>
          ))}
        </li>
      ))}
    </ul>
  );
}

/** A run by its name, linked to its page; a run recorded without one by the start of its id. */
function RunLink({ run }: { run: LineageRun }) {
  return (
    <a href={href(`/runs/${run.id}`)} className="nowrap" title={run.id} data-testid="provenance-run" data-run-id={run.id}>
      {run.name ?? <span className="mono">{run.id.slice(0, 8)}</span>}
    </a>
  );
}

function download(assetKey: string, doc: AssetMaterializationLineageResponse): void {
  const blob = new Blob([`${JSON.stringify(doc, null, 2)}\n`], { type: 'application/json' });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = `${assetKey.replaceAll('/', '_')}-${doc.materializationId}-lineage.json`;
  link.click();
  URL.revokeObjectURL(url);
}
