import type { AssetMaterialization } from '@outpost/sdk/contracts';
import { Empty } from '../components/notice.js';
import { formatMetadataValue, metadataColumns } from '../lib/asset-metadata.js';
import { formatDateTime, formatDuration } from '../lib/format.js';
import { href } from '../router.js';

/**
 * An asset's latest materialisations: run, partition, data version, duration, and the declared
 * metadata with one column per key, so values line up across materialisations.
 */
export function AssetMaterializations({ items }: { items: readonly AssetMaterialization[] }) {
  if (items.length === 0) return <Empty>Not materialised yet.</Empty>;
  const columns = metadataColumns(items);
  const partitioned = items.some((m) => m.partitionKey !== null);
  return (
    <div className="metadata-table">
      <table className="grid-table compact" data-testid="asset-materializations">
        <thead>
          <tr>
            <th>When</th>
            <th>Run</th>
            {partitioned && <th>Partition</th>}
            <th>Data version</th>
            <th>Code version</th>
            <th className="num">Duration</th>
            {columns.map((c) => (
              <th key={c} className="mono" data-testid="metadata-column">
                {c}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {items.map((m) => (
            <tr key={m.id} data-testid="asset-materialization" data-partition={m.partitionKey ?? ''}>
              <td>{formatDateTime(m.createdAt)}</td>
              <td>
                <a href={href(`/runs/${m.flowRunId}`)} className="mono" data-testid="materialization-run">
                  {m.flowRunId.slice(0, 8)}
                </a>
                {m.attempt > 1 && <span className="muted small"> · attempt {m.attempt}</span>}
              </td>
              {partitioned && <td className="mono small">{m.partitionKey ?? '—'}</td>}
              <td className="mono small" title={m.dataVersion ?? undefined}>
                {m.dataVersion ? m.dataVersion.slice(0, 12) : '—'}
              </td>
              <td className="mono small" title={m.codeVersion}>
                {m.codeVersion.slice(0, 12)}
              </td>
              <td className="num mono">{m.durationMs === null ? '—' : formatDuration(m.durationMs)}</td>
              {columns.map((c) => {
                const text = formatMetadataValue(c, m.metadata[c]);
                return (
                  <td key={c} className="metadata-value" title={text} data-testid="metadata-value" data-key={c}>
                    {text || <span className="muted">—</span>}
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
