import type { CallResult } from '@outpost/sdk/client';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { LeasedLoop } from '../src/leased-loop.js';

/** A loop over one item whose report says when it is due again, with claims it records and announces. */
function loopWith(options: { pollMs: number; dueAgainMs: number | null }) {
  const claims: number[] = [];
  const waiters: { count: number; resolve: () => void }[] = [];
  let handedOut = false;
  const loop = new LeasedLoop<string, string>({
    what: 'deferred job poll',
    slots: 1,
    pollMs: options.pollMs,
    logger: pino({ level: 'silent' }),
    claim: async () => {
      claims.push(Date.now());
      for (const w of waiters.filter((w) => claims.length >= w.count)) w.resolve();
      const items = handedOut ? [] : ['job'];
      handedOut = true;
      return { ok: true, status: 200, data: items } as CallResult<string[]>;
    },
    evaluate: async (item) => `polled ${item}`,
    report: async () => ({ ok: true, status: 200, data: { dueInMs: options.dueAgainMs } }) as CallResult<unknown>,
    describe: (item) => ({ item }),
    reported: () => {},
    dueAgainInMs: (answer) => (answer as { dueInMs: number | null }).dueInMs,
  });
  const claimNumber = (count: number) =>
    new Promise<void>((resolve) => {
      if (claims.length >= count) resolve();
      else waiters.push({ count, resolve });
    });
  return { loop, claims, claimNumber };
}

describe('a leased loop told when an item is due again', () => {
  it('asks at that moment instead of waiting for its next cycle', async () => {
    // The cycle is ten minutes: only the report's due time can bring the third claim within the test.
    const { loop, claimNumber } = loopWith({ pollMs: 600_000, dueAgainMs: 50 });
    loop.start();
    try {
      // 1: hands out the item; 2: at once after its evaluation ends (nothing due); 3: when it is due again.
      await claimNumber(3);
    } finally {
      await loop.stop();
    }
  });

  it('keeps its own cycle when the item is due later than the next cycle', async () => {
    const { loop, claims, claimNumber } = loopWith({ pollMs: 20, dueAgainMs: 600_000 });
    loop.start();
    try {
      await claimNumber(5);
    } finally {
      await loop.stop();
    }
    expect(claims.length).toBeGreaterThanOrEqual(5);
  });
});
