import type { CallFailure } from '@outpost/sdk/client';

export interface BackoffPolicy {
  /** Delay after the first failure. */
  baseMs: number;
  /** No delay grows past this. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 250, maxMs: 30_000 };

/**
 * Capped exponential backoff with "equal jitter": half the delay is fixed, half random, so a fleet
 * of workers that lost the API at the same moment does not come back in lockstep, yet no retry
 * fires immediately.
 */
export function backoffDelay(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const exp = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}

/** The delay before retrying a failed call: the server's Retry-After when it sent one (429/503), else backoff. */
export function retryDelay(failure: CallFailure, failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const computed = backoffDelay(failures, policy);
  if (failure.kind === 'http_error' && failure.retryAfterMs !== null) {
    // Never retry sooner than asked; a small jitter on top keeps throttled workers from synchronising.
    return Math.max(failure.retryAfterMs, 0) + Math.round(Math.random() * 250);
  }
  return computed;
}

/** Resolves after `ms`, or early when `signal` aborts; never rejects. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
