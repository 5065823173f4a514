import { matchRoute, parseHash } from '../router.js';
import { api } from './instance.js';

/*
 * The first reads of each page, started by the entry script while the page's own code (a chunk of
 * its own) is still loading. Before, a cold load ran entry script → page chunk → API call → rows:
 * on the bench's loaded machine the call started 250–450 ms after navigation. The page then makes
 * its usual call, and the API client hands it this answer (api/client.ts `prefetch`), so both must
 * ask the same URL: the pages take their page sizes from here. Only reads that depend on the
 * address alone are started, and only for an address without a search (filters change the query).
 */

export const RUNS_PAGE_SIZE = 100;
export const ASSETS_PAGE_SIZE = 200;
export const EVENTS_PAGE_SIZE = 100;
export const DEPLOYMENTS_PAGE_SIZE = 100;
export const AUTOMATIONS_LISTED = 200;
/** The asset page's automations list names deployments: this many are read with it. */
export const AUTOMATION_DEPLOYMENTS_LISTED = 200;
export const MATERIALIZATIONS_SHOWN = 20;

export function prefetchFirstReads(hash: string): void {
  const { path, search } = parseHash(hash);
  if (search.size > 0) return;
  const route = matchRoute(path);
  switch (route.name) {
    case 'runs':
      api.prefetch('flowRunsList', { query: { limit: RUNS_PAGE_SIZE } });
      return;
    case 'run':
      api.prefetch('flowRunsGet', { params: { id: route.id } });
      api.prefetch('flowRunsStates', { params: { id: route.id } });
      api.prefetch('artifactsList', { params: { id: route.id } });
      api.prefetch('flowRunsChildren', { params: { id: route.id } });
      return;
    case 'assets':
      api.prefetch('assetsList', { query: { limit: ASSETS_PAGE_SIZE } });
      return;
    case 'asset':
      api.prefetch('assetsGet', { query: { key: route.key } });
      api.prefetch('assetsMaterializations', { query: { key: route.key, limit: MATERIALIZATIONS_SHOWN } });
      return;
    case 'lineage':
      api.prefetch('assetsLineage', {});
      return;
    case 'events':
      api.prefetch('eventsList', { query: { limit: EVENTS_PAGE_SIZE } });
      return;
    case 'automations':
      api.prefetch('automationsList', { query: { limit: AUTOMATIONS_LISTED } });
      api.prefetch('deploymentsList', { query: { limit: AUTOMATION_DEPLOYMENTS_LISTED } });
      return;
    case 'deployments':
      api.prefetch('deploymentsList', { query: { limit: DEPLOYMENTS_PAGE_SIZE } });
      api.prefetch('poolsList', {});
      return;
    default:
      return;
  }
}
