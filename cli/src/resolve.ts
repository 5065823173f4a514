import { type Deployment, type FlowRun, MAX_PAGE_SIZE } from '@outpost/sdk/contracts';
import type { Api } from './api.js';
import { apiFailure, CliError, EXIT, UsageError } from './errors.js';
import { shortTime } from './output.js';
import { closest } from './suggest.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Splits `flow/deployment`; a usage error otherwise. */
export function parseDeploymentRef(ref: string): { flow: string; name: string } {
  const slash = ref.indexOf('/');
  const flow = ref.slice(0, slash);
  const name = ref.slice(slash + 1);
  if (slash <= 0 || !name || name.includes('/')) {
    throw new UsageError(`a deployment is named <flow>/<deployment>, e.g. hello/default (got "${ref}")`);
  }
  return { flow, name };
}

/** How many deployments a mistyped name is compared with: the first pages of the workspace's list. */
const SUGGESTION_PAGES = 5;

/** Finds a deployment by `flow/name` or by id; a name not found says which deployment was likely meant. */
export async function findDeployment(api: Api, ref: string): Promise<Deployment> {
  if (isUuid(ref)) return api.call('deploymentsGet', { params: { id: ref } }, `cannot find deployment ${ref}`);
  const { flow, name } = parseDeploymentRef(ref);
  const what = `cannot find deployment ${ref}`;
  const found = await api.attempt('deploymentsGetByName', { params: { flow, name } });
  if (found.ok) return found.data;
  // A 404 without a not-found answer (no route: a wrong API URL) is not about the name.
  if (
    found.kind !== 'http_error' ||
    found.status !== 404 ||
    found.problem?.code !== 'not_found' ||
    found.problem.detail?.startsWith('no route ')
  )
    throw apiFailure(found, what, api.url);
  const guess = closest(ref, await deploymentNames(api));
  throw new CliError(
    `no deployment is named ${ref}${guess ? ` — did you mean ${guess}?` : ''}`,
    EXIT.failed,
    guess ? [] : ['see outpost deployments ls'],
  );
}

/** The `flow/name` of the workspace's deployments (the first few pages), for suggestions. */
async function deploymentNames(api: Api): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | undefined;
  for (let i = 0; i < SUGGESTION_PAGES; i++) {
    const page = await api.attempt('deploymentsList', { query: { limit: MAX_PAGE_SIZE, ...(cursor ? { cursor } : {}) } });
    if (!page.ok) break;
    for (const d of page.data.items) names.push(`${d.flowName}/${d.name}`);
    if (!page.data.nextCursor) break;
    cursor = page.data.nextCursor;
  }
  return names;
}

/** How many runs of one name an ambiguity lists. */
const CANDIDATES = 10;

/**
 * Finds a run by id or by name. Names are friendly, not unique: a name several runs carry is an
 * error listing them (newest first) with their ids, so the user can pick one.
 */
export async function findRun(api: Api, ref: string): Promise<FlowRun> {
  if (isUuid(ref)) return api.call('flowRunsGet', { params: { id: ref } }, `cannot find run ${ref}`);
  if (ref.length > 200) throw new UsageError(`a run is named by its id or its name, got "${ref.slice(0, 40)}…"`);
  const page = await api.call('flowRunsList', { query: { name: ref, limit: CANDIDATES } }, `cannot find run ${ref}`);
  const [only, ...others] = page.items;
  if (!only) throw new CliError(`no run is named "${ref}" (see outpost runs ls)`, EXIT.failed);
  if (others.length === 0) return only;
  const more = page.nextCursor ? ` (the newest ${page.items.length} shown)` : '';
  throw new CliError(
    `${page.nextCursor ? 'more than ' : ''}${page.items.length} runs are named "${ref}": give its id instead${more}`,
    EXIT.failed,
    page.items.map(
      (r) =>
        `${r.id}  ${r.deploymentName ? `${r.flowName}/${r.deploymentName}` : r.flowName}  ${r.state.type}  created ${shortTime(r.createdAt)}`,
    ),
  );
}

export function requireUuid(value: string, what: string): string {
  if (!isUuid(value)) throw new UsageError(`${what} must be an id (a UUID), got "${value}"`);
  return value;
}

/** How many rows a list command shows when not told: a screenful. */
export const DEFAULT_LIST_LIMIT = 20;

export function parseLimit(raw: string | undefined, fallback: number, max = MAX_PAGE_SIZE, flag = '--limit'): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`${flag} must be a whole number from 1 to ${max}, got "${raw}"`);
  return n;
}
