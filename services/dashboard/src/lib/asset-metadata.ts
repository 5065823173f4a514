import type { AssetMaterialization, Role, RouteName } from '@outpost/sdk/contracts';
import { routes } from '@outpost/sdk/contracts';

/**
 * Materialisation metadata as a table: one column per declared key, in the order the keys first
 * appear (newest materialisation first), so rows, bytes and custom values line up across runs.
 */
export function metadataColumns(items: readonly Pick<AssetMaterialization, 'metadata'>[], max = 12): string[] {
  const seen = new Set<string>();
  for (const item of items) {
    for (const key of Object.keys(item.metadata)) {
      if (seen.size >= max) return [...seen];
      seen.add(key);
    }
  }
  return [...seen];
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (Math.abs(v) >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${UNITS[u]}`;
}

/** One declared value as text: numbers with separators (`bytes` as a size), structures as compact JSON. */
export function formatMetadataValue(key: string, value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'null';
  if (typeof value === 'number') return /bytes$/i.test(key) ? formatBytes(value) : value.toLocaleString();
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return String(value);
  return JSON.stringify(value) ?? '';
}

/** Whether a role may call a route, from the shared route table (the API refuses anyway). */
export function mayCall(role: Role | null, route: RouteName): boolean {
  if (!role) return false;
  return (routes[route].access.roles as readonly string[]).includes(role);
}
