import type { Asset, AssetHealth, Role } from '@outpost/sdk/contracts';
import { AssetHealth as AssetHealthEnum } from '@outpost/sdk/contracts';
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { ASSETS_PAGE_SIZE } from '../api/first-reads.js';
import { api } from '../api/instance.js';
import { TextInput } from '../components/form-field.js';
import { HEALTH_LABEL, HealthBadge } from '../components/health-badge.js';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { TableHead } from '../components/table-head.js';
import { TagList } from '../components/tag-list.js';
import { useNow } from '../hooks/use-now.js';
import { mayCall } from '../lib/asset-metadata.js';
import { formatDateTime, formatRelative, pluralise } from '../lib/format.js';
import { assetPath, href, navigate } from '../router.js';
import { MaterializeDialog } from './asset-materialize-dialog.js';

const SEARCH_DELAY_MS = 250;

export interface AssetFilters {
  q: string;
  owner: string;
  group: string;
  health: AssetHealth | '';
}

export function assetFiltersFromSearch(search: URLSearchParams): AssetFilters {
  const health = search.get('health') ?? '';
  return {
    q: search.get('q') ?? '',
    owner: search.get('owner') ?? '',
    group: search.get('group') ?? '',
    health: AssetHealthEnum.safeParse(health).success ? (health as AssetHealth) : '',
  };
}

function toSearch(f: AssetFilters): Record<string, string> {
  return Object.fromEntries(Object.entries(f).filter(([, v]) => v !== ''));
}

/** Catalog and lineage are two views of the same assets. */
export function AssetViews({ current }: { current: 'catalog' | 'lineage' }) {
  return (
    <nav className="segmented" aria-label="Asset views">
      <a
        href={href('/assets')}
        className={`segment${current === 'catalog' ? ' segment-on' : ''}`}
        data-testid="assets-view-catalog"
      >
        Catalog
      </a>
      <a
        href={href('/lineage')}
        className={`segment${current === 'lineage' ? ' segment-on' : ''}`}
        data-testid="assets-view-lineage"
      >
        Lineage
      </a>
    </nav>
  );
}

/**
 * The asset catalog: search over keys, descriptions, owners and tags; owner, group and health
 * filters (all in the address, so a filtered view can be shared); each asset's health with why it
 * is stale, its last materialisation and partitions, and the deployment that defines it.
 */
export function AssetsPage({ search, role }: { search: URLSearchParams; role: Role | null }) {
  const searchText = search.toString();
  // biome-ignore lint/correctness/useExhaustiveDependencies: the text is the identity of the search
  const filters = useMemo(() => assetFiltersFromSearch(search), [searchText]);
  const [items, setItems] = useState<Asset[]>([]);
  const [nextCursor, setNextCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [q, setQ] = useState(filters.q);
  const [owners, setOwners] = useState<string[]>([]);
  const [groups, setGroups] = useState<string[]>([]);
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [materializing, setMaterializing] = useState<Asset[] | null>(null);
  const now = useNow(10_000);
  const canMaterialize = mayCall(role, 'assetsMaterialize');

  const setFilters = useCallback((next: AssetFilters) => navigate('/assets', toSearch(next), { replace: true }), []);

  // The search box writes the address a moment after typing stops.
  const filtersRef = useRef(filters);
  filtersRef.current = filters;
  useEffect(() => {
    if (q === filtersRef.current.q) return;
    const timer = setTimeout(() => setFilters({ ...filtersRef.current, q }), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [q, setFilters]);

  const load = useCallback(
    async (cursor: string | null, signal?: AbortSignal) => {
      setLoading(true);
      const result = await api.call('assetsList', {
        query: {
          q: filters.q,
          owner: filters.owner,
          group: filters.group,
          health: filters.health || undefined,
          limit: ASSETS_PAGE_SIZE,
          cursor: cursor ?? undefined,
        },
        signal,
      });
      if (signal?.aborted) return;
      setLoading(false);
      if (!result.ok) {
        setError(describeFailure(result));
        return;
      }
      setError(null);
      const page = result.data.items;
      setItems((current) => (cursor ? [...current, ...page] : page));
      setNextCursor(result.data.nextCursor);
      // Owners and groups seen so far become the filters' choices.
      setOwners((o) =>
        mergeSorted(
          o,
          page.flatMap((a) => a.owners),
        ),
      );
      setGroups((g) =>
        mergeSorted(
          g,
          page.flatMap((a) => (a.group ? [a.group] : [])),
        ),
      );
    },
    [filters],
  );

  useEffect(() => {
    const controller = new AbortController();
    void load(null, controller.signal);
    return () => controller.abort();
  }, [load]);

  const toggle = (key: string) =>
    setPicked((p) => {
      const next = new Set(p);
      if (next.has(key)) next.delete(key);
      else next.add(key);
      return next;
    });
  const pickedAssets = items.filter((a) => picked.has(a.key));

  return (
    <div className="page">
      <div className="page-header">
        <h1>Assets</h1>
        <AssetViews current="catalog" />
      </div>
      <div className="asset-filters" data-testid="asset-filters">
        <TextInput
          type="search"
          placeholder="Search keys, descriptions, owners, tags"
          aria-label="Search assets"
          value={q}
          onChange={setQ}
          testId="asset-search"
        />
        <SeenValueFilter
          what="owner"
          seen={owners}
          value={filters.owner}
          onChange={(owner) => setFilters({ ...filters, owner })}
        />
        <SeenValueFilter
          what="group"
          seen={groups}
          value={filters.group}
          onChange={(group) => setFilters({ ...filters, group })}
        />
        <select
          aria-label="Health"
          value={filters.health}
          onChange={(e) => setFilters({ ...filters, health: e.target.value as AssetHealth | '' })}
          data-testid="asset-filter-health"
        >
          <option value="">Any health</option>
          <Options values={AssetHealthEnum.options} label={(h) => HEALTH_LABEL[h]} />
        </select>
        {(filters.q || filters.owner || filters.group || filters.health) && (
          <button
            type="button"
            className="button button-quiet"
            onClick={() => {
              setQ('');
              setFilters({ q: '', owner: '', group: '', health: '' });
            }}
            data-testid="asset-filter-clear"
          >
            Clear
          </button>
        )}
      </div>
      {canMaterialize && picked.size > 0 && (
        <div className="selection-bar">
          <span className="muted" data-testid="asset-picked-count">
            {picked.size} selected
          </span>
          <button
            type="button"
            className="button button-primary"
            onClick={() => setMaterializing(pickedAssets)}
            data-testid="asset-materialize-selected"
          >
            Materialize selected
          </button>
          <button type="button" className="button button-quiet" onClick={() => setPicked(new Set())}>
            Clear selection
          </button>
        </div>
      )}
      {error && <Notice>{error}</Notice>}
      {items.length === 0 && !loading ? (
        <Empty>
          {filters.q || filters.owner || filters.group || filters.health ? (
            'No assets match these filters.'
          ) : (
            <>
              No assets yet. Deploy an asset graph with <code>outpost deploy</code> (a deployment with <code>assets: true</code>).
            </>
          )}
        </Empty>
      ) : (
        <table className="grid-table asset-table" data-testid="assets-table">
          <TableHead
            columns={[
              canMaterialize && { hidden: 'Select' },
              'Health',
              'Asset',
              'Group',
              'Owners',
              'Partitions',
              'Last materialised',
              'Deployment',
              'Tags',
            ]}
          />
          <tbody>
            {items.map((a) => (
              <tr key={a.key} data-testid="asset-row" data-asset={a.key} data-health={a.health}>
                {canMaterialize && (
                  <td className="check-cell">
                    <input
                      type="checkbox"
                      aria-label={`Select ${a.key}`}
                      checked={picked.has(a.key)}
                      onChange={() => toggle(a.key)}
                      data-testid="asset-pick"
                    />
                  </td>
                )}
                <td>
                  <div className="health-cell">
                    <HealthBadge health={a.health} reason={a.stale[0]?.message ?? null} />
                    {a.stale.length > 0 && (
                      <span className="stale-reason" title={a.stale.map((r) => r.message).join('\n')} data-testid="asset-stale">
                        {a.stale[0]?.message}
                        {a.stale.length > 1 ? ` (+${a.stale.length - 1})` : ''}
                      </span>
                    )}
                  </div>
                </td>
                <td>
                  <div className="cell-main">
                    <a href={href(assetPath(a.key))} className="asset-key" data-testid="asset-link">
                      {a.key}
                    </a>
                    {a.description && (
                      <span className="muted small description" title={a.description}>
                        {a.description}
                      </span>
                    )}
                  </div>
                </td>
                <td>{a.group ?? <span className="muted">—</span>}</td>
                <td>
                  {a.owners.length === 0 ? (
                    <span className="muted">—</span>
                  ) : (
                    a.owners.map((o) => (
                      <div key={o} className="owner">
                        {o}
                      </div>
                    ))
                  )}
                </td>
                <td className="partition-summary" data-testid="asset-partitions">
                  {a.partitionCounts ? (
                    <span title={`${a.partitionCounts.FAILED} failed, ${a.partitionCounts.STALE} stale`}>
                      {a.partitionCounts.MATERIALIZED.toLocaleString()} / {a.partitionCounts.total.toLocaleString()}
                      {a.partitionCounts.FAILED > 0 && <span className="text-bad"> · {a.partitionCounts.FAILED} failed</span>}
                    </span>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
                <td data-testid="asset-last-materialized">
                  {a.latest ? (
                    <div className="cell-main">
                      <a href={href(`/runs/${a.latest.flowRunId}`)} title={formatDateTime(a.latest.createdAt)}>
                        {formatRelative(a.latest.createdAt, now)}
                      </a>
                      {a.latest.partitionKey && <span className="muted small mono">{a.latest.partitionKey}</span>}
                    </div>
                  ) : (
                    <span className="muted">never</span>
                  )}
                </td>
                <td className="truncate">
                  <a href={href('/runs', { deployment: a.deploymentId })}>{a.deploymentName}</a>
                </td>
                <td>
                  <TagList tags={a.tags} onPick={(tag) => setQ(tag)} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <div className="pager">
        <span className="muted" data-testid="assets-count">
          {loading ? 'Loading…' : pluralise(items.length, 'asset')}
        </span>
        {nextCursor && (
          <button
            type="button"
            className="button"
            disabled={loading}
            onClick={() => void load(nextCursor)}
            data-testid="assets-more"
          >
            Load more
          </button>
        )}
      </div>
      {materializing && (
        <MaterializeDialog
          assets={materializing}
          onClose={() => setMaterializing(null)}
          onStarted={() => {
            setPicked(new Set());
          }}
        />
      )}
    </div>
  );
}

function mergeSorted(current: string[], more: string[]): string[] {
  const all = new Set(current);
  let changed = false;
  for (const m of more) {
    if (!all.has(m)) {
      all.add(m);
      changed = true;
    }
  }
  return changed ? [...all].sort((a, b) => a.localeCompare(b)) : current;
}

function withCurrent(options: string[], current: string): string[] {
  return current && !options.includes(current) ? [current, ...options] : options;
}

/**
 * The owner or group filter: Any, then each value seen so far, keeping the chosen one (from the URL)
 * before any page has shown it. Named "Owner" or "Group"; test id `asset-filter-` with `what`.
 */
function SeenValueFilter({
  what,
  seen,
  value,
  onChange,
}: {
  what: 'owner' | 'group';
  seen: string[];
  value: string;
  onChange: (value: string) => void;
}) {
  return (
    <select
      aria-label={what === 'owner' ? 'Owner' : 'Group'}
      value={value}
      onChange={(e) => onChange(e.target.value)}
      data-testid={`asset-filter-${what}`}
    >
      <option value="">{`Any ${what}`}</option>
      <Options values={withCurrent(seen, value)} />
    </select>
  );
}
