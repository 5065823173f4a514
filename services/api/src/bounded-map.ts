/**
 * Makes room for one more entry in a cache kept to `max` entries: drops the expired entries, then,
 * if it is still full, the oldest (a Map iterates in insertion order).
 */
export function makeRoom<K, V>(map: Map<K, V>, max: number, expired: (value: V) => boolean): void {
  if (map.size < max) return;
  for (const [key, value] of map) if (expired(value)) map.delete(key);
  for (const key of map.keys()) {
    if (map.size < max) break;
    map.delete(key);
  }
}
