import { afterEach, beforeEach, vi } from 'vitest';

/**
 * Records what each test prints with console.log and console.error (one line a call, its
 * arguments joined by spaces) in the array it returns, which is emptied before each test; every
 * mock is restored after each test.
 */
export function usePrintedLines(): string[] {
  const printed: string[] = [];
  beforeEach(() => {
    printed.length = 0;
    const record = (...args: unknown[]) => {
      printed.push(args.join(' '));
    };
    vi.spyOn(console, 'log').mockImplementation(record);
    vi.spyOn(console, 'error').mockImplementation(record);
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  return printed;
}
