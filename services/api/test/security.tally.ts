import { afterAll, expect } from 'vitest';

/**
 * Counts what a security suite checked and prints it when the file is done (`[security] …: n`), so
 * the figures recorded in test/bench/results come from a run, not from a hand count. The suite
 * fails if it counted nothing: a check that ran zero times proves nothing.
 */
export function tally(what: string): { add(n?: number): void } {
  let count = 0;
  afterAll(() => {
    process.stdout.write(`[security] ${what}: ${count}\n`);
    expect(count, `${what} were counted`).toBeGreaterThan(0);
  });
  return {
    add(n = 1) {
      count += n;
    },
  };
}
