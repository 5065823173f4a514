import * as z from 'zod';

/**
 * When a task or an asset that throws is tried again, and when an attempt is given up on: the options
 * `task()` and `asset()` take alike.
 */
export interface RetryOptions {
  /** Attempts after the first when the function throws. @default 0 */
  retries?: number;
  /** Delay before the first retry. @default 0 */
  retryDelaySeconds?: number;
  /** Each further retry waits this factor longer than the one before (2 doubles it). @default 1 */
  backoff?: number;
  /** Stretch each delay by a random fraction of up to this much (0.2 → up to 20% longer). @default 0 */
  jitter?: number;
  /**
   * Give up on an attempt after this many seconds: the context's `signal` fires and the attempt
   * fails with a `TaskTimeoutError` (and is retried if retries remain). @default undefined (no limit)
   */
  timeoutSeconds?: number;
  /** Decide whether an error is worth retrying. @default every error is retried */
  retryOn?: (error: Error) => boolean;
}

/** How far apart the attempts of a task run are, resolved to numbers. */
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

/** `RetryOptions` with their defaults applied: what a task run is attempted with. */
export interface RetrySettings extends RetryPolicy {
  timeoutSeconds: number | undefined;
  retryOn: ((error: Error) => boolean) | undefined;
}

/** The schema's fields of `RetryOptions`, defaults included, for the options schemas of tasks and assets. */
export function retryOptionFields() {
  return {
    retries: z.number().int().min(0).default(0),
    retryDelaySeconds: z.number().min(0).default(0),
    backoff: z.number().min(1).default(1),
    jitter: z.number().min(0).max(1).default(0),
    timeoutSeconds: z.number().positive().optional(),
    retryOn: z.custom<(error: Error) => boolean>((value) => typeof value === 'function', 'expected a function').optional(),
  };
}

/** The retry settings among parsed options. */
export function retrySettingsOf(options: RetryPolicy & Pick<RetryOptions, 'timeoutSeconds' | 'retryOn'>): RetrySettings {
  const { retries, retryDelaySeconds, backoff, jitter, timeoutSeconds, retryOn } = options;
  return { retries, retryDelaySeconds, backoff, jitter, timeoutSeconds, retryOn };
}
