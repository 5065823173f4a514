import { describe, expect, test } from 'vitest';
import { ApiError } from '../src/errors.js';
import { batchItems, RateLimiter, TokenBuckets } from '../src/http/rate-limit.js';

function clock(start = 0) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('token buckets', () => {
  test('allow a burst up to the capacity, then refuse with the seconds until a token is back', () => {
    const time = clock();
    const buckets = new TokenBuckets(time.now);
    const bucket = { key: 'k', perMinute: 60, capacity: 3 };
    expect([buckets.take([bucket]), buckets.take([bucket]), buckets.take([bucket])]).toEqual([0, 0, 0]);
    expect(buckets.take([bucket])).toBe(1);
    time.advance(999);
    expect(buckets.take([bucket])).toBe(1);
    time.advance(1);
    expect(buckets.take([bucket])).toBe(0);
  });

  test('take from every bucket or from none, so a refusal by one bucket costs the other nothing', () => {
    const time = clock();
    const buckets = new TokenBuckets(time.now);
    const roomy = { key: 'roomy', perMinute: 600, capacity: 10 };
    const tight = { key: 'tight', perMinute: 6, capacity: 1 };
    expect(buckets.take([roomy, tight])).toBe(0);
    expect(buckets.take([roomy, tight])).toBe(10);
    expect(buckets.peek(roomy)).toBe(9);
  });

  test('forget buckets that have refilled once many accumulate', () => {
    const time = clock();
    const buckets = new TokenBuckets(time.now);
    for (let i = 0; i < 10_000; i++) buckets.take([{ key: `k${i}`, perMinute: 60, capacity: 1 }]);
    time.advance(61_000);
    buckets.take([{ key: 'fresh', perMinute: 60, capacity: 1 }]);
    expect(buckets.size).toBeLessThan(10);
  });
});

describe('rate limiter', () => {
  test('refuses a credential over its rate with a 429 problem carrying Retry-After, while another credential proceeds', () => {
    const time = clock();
    const limiter = new RateLimiter({ keyPerMinute: 60, workspacePerMinute: 6000, burstSeconds: 2 }, time.now);
    const a = { workspaceId: 'w', credential: 'a', traffic: 'api' as const };
    limiter.check(a);
    limiter.check(a);
    const error = (() => {
      try {
        limiter.check(a);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(429);
    expect((error as ApiError).headers?.['retry-after']).toBe('1');
    expect(() => limiter.check({ ...a, credential: 'b' })).not.toThrow();
  });

  test('keeps runtime traffic in buckets of its own, so a flood of user requests cannot starve workers', () => {
    const time = clock();
    const limiter = new RateLimiter({ keyPerMinute: 6000, workspacePerMinute: 60, burstSeconds: 1 }, time.now);
    limiter.check({ workspaceId: 'w', credential: 'user', traffic: 'api' });
    expect(() => limiter.check({ workspaceId: 'w', credential: 'user2', traffic: 'api' })).toThrow(ApiError);
    expect(() => limiter.check({ workspaceId: 'w', credential: 'worker', traffic: 'runtime' })).not.toThrow();
  });

  test('limits password attempts per account across addresses, and per address across accounts', () => {
    const time = clock();
    const limiter = new RateLimiter({ signInAttemptsPerAccount: 3, signInAttemptsPerAddress: 5 }, time.now);
    for (const address of ['1.1.1.1', '2.2.2.2', '3.3.3.3']) limiter.checkSignIn('Ada@example.com', address);
    expect(() => limiter.checkSignIn(' ada@EXAMPLE.com', '4.4.4.4')).toThrow(/password attempts/);
    limiter.checkSignIn('b@example.com', '9.9.9.9');
    limiter.checkSignIn('c@example.com', '9.9.9.9');
    limiter.checkSignIn('d@example.com', '9.9.9.9');
    limiter.checkSignIn('e@example.com', '9.9.9.9');
    limiter.checkSignIn('f@example.com', '9.9.9.9');
    expect(() => limiter.checkSignIn('g@example.com', '9.9.9.9')).toThrow(ApiError);
    // The allowance refills over 15 minutes.
    time.advance(15 * 60_000);
    expect(() => limiter.checkSignIn('ada@example.com', '4.4.4.4')).not.toThrow();
  });

  test('refuses settings that are not positive numbers', () => {
    expect(() => new RateLimiter({ keyPerMinute: 0 })).toThrow(/keyPerMinute/);
    expect(() => new RateLimiter({ burstSeconds: Number.NaN })).toThrow(/burstSeconds/);
  });
});

describe('batched work', () => {
  const run = { workspaceId: 'w1', credential: 'run-1', traffic: 'runtime' as const };

  test('a 10,000-item map reported in batches is never refused at the default rates', () => {
    const time = clock();
    const limiter = new RateLimiter({}, time.now);
    // 20,000 task-run events and 20,000 log lines in 80 requests over five seconds, as the worker sends them.
    for (let i = 0; i < 80; i++) {
      limiter.check(run);
      limiter.chargeItems(run, batchItems({ events: new Array(500).fill({}) }));
      time.advance(62);
    }
  });

  test('a batch costs what it carries: a flood of items is refused with Retry-After, while requests alone still pass', () => {
    const time = clock();
    const limiter = new RateLimiter({ runtimeItemsPerMinute: 60_000, burstSeconds: 15 }, time.now);
    // A burst of 15 s at 1,000 items a second: fifteen batches of 1,000, then no more.
    for (let i = 0; i < 15; i++) limiter.chargeItems(run, 1000);
    const refused = (() => {
      try {
        limiter.chargeItems(run, 1000);
        return null;
      } catch (error) {
        return error as ApiError;
      }
    })();
    expect(refused?.status).toBe(429);
    expect(refused?.headers?.['retry-after']).toBe('1');
    // Another run of the workspace has its own allowance; people's traffic is not metered by items.
    limiter.chargeItems({ ...run, credential: 'run-2' }, 1000);
    limiter.chargeItems({ workspaceId: 'w1', credential: 'key-1', traffic: 'api' }, 1_000_000);
    time.advance(1000);
    limiter.chargeItems(run, 1000);
  });

  test('counts the items of every batch field, and each run’s lines in a batch of runs', () => {
    expect(batchItems({ events: [1, 2, 3] })).toBe(3);
    expect(batchItems({ attempt: 1, logs: [1, 2] })).toBe(2);
    expect(batchItems({ items: [{ logs: [1, 2, 3] }, { logs: [4] }] })).toBe(6);
    expect(batchItems({ name: 'x' })).toBe(0);
    expect(batchItems(undefined)).toBe(0);
  });
});
