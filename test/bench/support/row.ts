/**
 * One line of the benchmark table. `baseline` is the same quantity measured on the simplest thing
 * that could do the job (raw SQL, a bare HTTP server, a bare process start), in the same unit;
 * `ratio` is value ÷ baseline, so for times above 1 means slower than the baseline, and for rates
 * below 1 means less throughput.
 */
export interface Row {
  name: string;
  value: number;
  unit: string;
  baseline: number | null;
  ratio: number | null;
  /** What the baseline is, printed under the table in the results file. */
  note?: string;
}

/** A row with its ratio computed (null without a usable baseline). */
export function row(name: string, value: number, unit: string, baseline: number | null, note?: string): Row {
  const ratio = baseline !== null && baseline !== 0 && Number.isFinite(baseline) ? value / baseline : null;
  return { name, value, unit, baseline, ratio, ...(note ? { note } : {}) };
}

/** The p-th percentile (0–100) by nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] as number;
}

/** Resolves after `ms`; benchmarks pace their own load with it, never to wait for a condition. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 10,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await pause(everyMs);
  }
}
