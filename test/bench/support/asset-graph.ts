import type { AssetDefinitionInput, PartitionsDefinition } from '@outpost/sdk/contracts';
import type { Sql } from 'postgres';

const LAYERS = 10;

const JANUARY: PartitionsDefinition = { kind: 'time', cadence: 'daily', start: '2026-01-01', end: '2026-02-01', timezone: 'UTC' };

/**
 * `count` assets in ten layers; each depends on one to three assets of the layer before. Asset `i`
 * is `<prefix>/l<layer>/a<i>`; every tenth is partitioned (`partitions`, January 2026 daily by
 * default) and every seventh has a non-blocking check `not_empty`.
 */
export function assetGraph(count: number, prefix: string, partitions: PartitionsDefinition = JANUARY): AssetDefinitionInput[] {
  const perLayer = Math.ceil(count / LAYERS);
  const key = (i: number) => `${prefix}/l${Math.floor(i / perLayer)}/a${i}`;
  let seed = 7;
  const next = () => {
    seed = (seed * 16807) % 2147483647;
    return seed / 2147483647;
  };
  return Array.from({ length: count }, (_, i) => {
    const layer = Math.floor(i / perLayer);
    const deps = new Set<string>();
    if (layer > 0) {
      const first = (layer - 1) * perLayer;
      for (let d = 0, n = 1 + Math.floor(next() * 3); d < n; d++) deps.add(key(first + Math.floor(next() * perLayer)));
    }
    return {
      key: key(i),
      deps: [...deps],
      codeVersion: 'v1',
      group: `layer_${layer}`,
      owners: ['bench@example.com'],
      ...(i % 10 === 0 ? { partitions } : {}),
      checks: i % 7 === 0 ? [{ name: 'not_empty', blocking: false }] : [],
    } satisfies AssetDefinitionInput;
  });
}

/** Four in five unpartitioned assets materialised with their current code (fresh), one in fifty failed. */
export async function seedAssetHealth(sql: Sql, workspaceId: string, prefix: string): Promise<void> {
  await sql`
    INSERT INTO asset_partitions (workspace_id, asset_key, partition_key, status, code_version, data_version, materialized_at)
    SELECT workspace_id, key, '', CASE WHEN row_number() OVER (ORDER BY key) % 50 = 0 THEN 'FAILED' ELSE 'MATERIALIZED' END,
           code_version, md5(key), now() - interval '1 hour'
    FROM asset_definitions
    WHERE workspace_id = ${workspaceId} AND partitions IS NULL AND key LIKE ${`${prefix}/%`} AND abs(hashtext(key)) % 5 <> 0`;
}
