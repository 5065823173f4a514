import type { AssetCron, FieldError } from '@outpost/sdk/contracts';
import { canonicalTimezone, cronProblem } from '../../scheduling/schedule-input.js';
import { cronJob } from '../../scheduling/timeline.js';

/** What is wrong with an asset policy's cron (`path` is the cron object's body path), as deploy refuses it. */
export function assetCronErrors(cron: AssetCron, path: string): FieldError[] {
  const zone = canonicalTimezone(cron.timezone);
  if (zone === null) return [{ path: `${path}.timezone`, message: `unknown IANA time zone "${cron.timezone}"` }];
  const problem = cronProblem(cron.cron, zone, new Date());
  return problem === null ? [] : [{ path: `${path}.cron`, message: problem }];
}

/** Parsed crons by expression and zone: a pass asks the same few crons about every asset. */
const jobs = new Map<string, ReturnType<typeof cronJob>>();
const MAX_JOBS = 500;

/** The latest tick of `cron` at or before `at`, or null (none yet, or a cron that deploy would have refused). */
export function latestTick(cron: AssetCron, at: Date): Date | null {
  const id = `${cron.cron}\u0000${cron.timezone}`;
  let job = jobs.get(id);
  if (!job) {
    try {
      job = cronJob(cron.cron, canonicalTimezone(cron.timezone) ?? cron.timezone);
    } catch {
      return null;
    }
    if (jobs.size >= MAX_JOBS) jobs.clear();
    jobs.set(id, job);
  }
  // previousRuns excludes its reference; one millisecond later includes a tick exactly at `at`.
  return job.previousRuns(1, new Date(at.getTime() + 1))[0] ?? null;
}
