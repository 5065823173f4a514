/**
 * Calls `fn` for every item with at most `concurrency` calls in flight, and resolves with the results
 * in the items' order. After the first failure no further item is started; the calls already in
 * flight are allowed to settle (so none is left running unobserved), then the first error is thrown.
 * An aborted `signal` stops new items the same way and throws its reason.
 */
export async function mapWithConcurrency<T, R>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<R>,
  signal?: AbortSignal,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | null = null;
  // Each lane takes the next unstarted item when its previous one settles: N lanes, N in flight at most.
  const lane = async (): Promise<void> => {
    while (failure === null && !signal?.aborted && next < items.length) {
      const index = next++;
      try {
        results[index] = await fn(items[index] as T, index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, lane));
  if (failure !== null) throw (failure as { error: unknown }).error;
  if (signal?.aborted && next < items.length) throw signal.reason;
  return results;
}
