import { createHash } from 'node:crypto';

/** No retry waits longer than the longest fixed delay a deployment may set. */
export const MAX_RETRY_DELAY_SECONDS = 86_400;

export interface RetryPolicy {
  /** The first retry's delay. */
  delaySeconds: number;
  /** Each further retry multiplies the delay by this; 1 keeps it fixed. */
  backoff: number;
  /** 0–1: the delay is stretched by up to this fraction of itself (a factor in [1, 1 + jitter]); never shortened. */
  jitter: number;
}

/**
 * A number in [0, 1) fixed by the run and the attempt, so the rule stays a pure function: judging
 * the same failure twice (a replayed proposal, a test) gives the same delay, while runs that failed
 * together (one outage) spread their retries instead of returning at the same instant.
 */
export function jitterSample(runId: string, attempt: number): number {
  const digest = createHash('sha256').update(`${runId}:${attempt}`).digest();
  return digest.readUInt32BE(0) / 2 ** 32;
}

/**
 * Seconds before retrying after attempt `failedAttempt` (1-based) failed:
 * `delaySeconds × backoff^(failedAttempt − 1)`, scaled by the jitter factor, capped at a day, in
 * whole milliseconds.
 */
export function retryDelaySeconds(policy: RetryPolicy, runId: string, failedAttempt: number): number {
  const delay = Math.max(0, policy.delaySeconds);
  const backoff = Math.max(1, policy.backoff);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  // Capped before jitter too, so a huge exponent cannot overflow to Infinity and then NaN.
  const base = Math.min(MAX_RETRY_DELAY_SECONDS, delay * backoff ** Math.max(0, failedAttempt - 1));
  // Only ever longer, as a task's `jitter` does: a delay set to respect a rate limit is never cut short.
  const factor = jitter === 0 ? 1 : 1 + jitter * jitterSample(runId, failedAttempt);
  const seconds = Math.min(MAX_RETRY_DELAY_SECONDS, base * factor);
  return Math.round(seconds * 1000) / 1000;
}
