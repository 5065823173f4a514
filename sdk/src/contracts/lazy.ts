/**
 * `build()`'s value, computed on the first call and kept. Schemas built through one are built when
 * first used rather than when their module is imported.
 */
export function lazy<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}
