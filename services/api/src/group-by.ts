/**
 * The items grouped by `key`, each group in the items' order and each item as `value` makes it:
 * `Map.groupBy` (Node 21) with a projection.
 */
export function groupBy<T, K>(items: Iterable<T>, key: (item: T) => K): Map<K, T[]>;
export function groupBy<T, K, V>(items: Iterable<T>, key: (item: T) => K, value: (item: T) => V): Map<K, V[]>;
export function groupBy<T, K, V>(items: Iterable<T>, key: (item: T) => K, value?: (item: T) => V): Map<K, (T | V)[]> {
  const groups = new Map<K, (T | V)[]>();
  for (const item of items) {
    const k = key(item);
    const made = value ? value(item) : item;
    const group = groups.get(k);
    if (group) group.push(made);
    else groups.set(k, [made]);
  }
  return groups;
}
