import { type Deployment, type FlowRun, MAX_PAGE_SIZE } from '@outpost/sdk/contracts';
import type { Api } from './api.js';
import { CliError, EXIT, UsageError } from './errors.js';
import { shortTime } from './output.js';

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

/** Finds a deployment by `flow/name` or by id. */
export async function findDeployment(api: Api, ref: string): Promise<Deployment> {
  if (isUuid(ref)) return api.call('deploymentsGet', { params: { id: ref } }, `cannot find deployment ${ref}`);
  const { flow, name } = parseDeploymentRef(ref);
  return api.call('deploymentsGetByName', { params: { flow, name } }, `cannot find deployment ${ref}`);
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
