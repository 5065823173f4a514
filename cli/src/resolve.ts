import type { Deployment } from '@outpost/sdk/contracts';
import type { Api } from './api.js';
import { UsageError } from './errors.js';

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

export function requireUuid(value: string, what: string): string {
  if (!isUuid(value)) throw new UsageError(`${what} must be an id (a UUID), got "${value}"`);
  return value;
}

export function parseLimit(raw: string | undefined, fallback: number, max = 200): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max)
    throw new UsageError(`--limit must be a whole number from 1 to ${max}, got "${raw}"`);
  return n;
}
