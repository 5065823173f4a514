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

/**
 * The keys last noted true, at most `max` of them: noting a key false forgets it, noting it true
 * makes it the newest, and past `max` the oldest is forgotten (a Set iterates in insertion order).
 */
export class RecentKeys {
  readonly #keys = new Set<string>();

  constructor(private readonly max: number) {}

  has(key: string): boolean {
    return this.#keys.has(key);
  }

  note(key: string, value: boolean): void {
    this.#keys.delete(key);
    if (!value) return;
    this.#keys.add(key);
    if (this.#keys.size > this.max) this.#keys.delete(this.#keys.values().next().value as string);
  }
}
