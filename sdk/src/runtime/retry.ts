/** The retry settings of a task, resolved to numbers. */
export interface RetryPolicy {
  retries: number;
  retryDelaySeconds: number;
  backoff: number;
  jitter: number;
}

/**
 * Milliseconds to wait before retry number `retry` (1 for the first retry):
 * `retryDelaySeconds × backoff^(retry − 1)`, then stretched by up to `jitter` of itself so that
 * many tasks failing together do not retry in lockstep. Jitter only lengthens a delay, never
 * shortens it, so a delay chosen to respect a rate limit still does.
 */
export function retryDelayMs(retry: number, policy: RetryPolicy, random: () => number = Math.random): number {
  const base = policy.retryDelaySeconds * policy.backoff ** (retry - 1);
  return Math.round(base * (1 + policy.jitter * random()) * 1000);
}
