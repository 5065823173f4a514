/**
 * `build()`'s value, computed on the first call and kept. The runtime reaches the contracts' schemas
 * through these, as `lazy(() => import('../contracts/…'))`, so importing a flow bundle builds no
 * schema: each module of schemas is built when a run first checks something with it.
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
