import { createHash } from 'node:crypto';
import type { CatchupPolicy, ScheduleInputs } from '@outpost/sdk/contracts';
import type { z } from 'zod';
import { cronJob, type ScheduleDefinition } from './timeline.js';

/** Interval schedules without an anchor count from here, so their times never depend on when they were deployed. */
export const DEFAULT_ANCHOR = new Date('2020-01-01T00:00:00.000Z');

export interface NormalizedSchedule {
  slug: string;
  definition: ScheduleDefinition;
  active: boolean;
  parameters: Record<string, unknown>;
  catchup: CatchupPolicy;
}

export interface ScheduleFieldError {
  path: string;
  message: string;
}

/** The zone's canonical IANA name, or null when the runtime does not know it. */
export function canonicalTimezone(zone: string): string | null {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/** The definition as one canonical string: equal definitions, and only those, give equal strings. */
export function definitionKey(def: ScheduleDefinition): string {
  return def.kind === 'cron'
    ? `cron\n${def.cron}\n${def.timezone}`
    : `interval\n${def.intervalSeconds}\n${def.anchorDate.toISOString()}`;
}

/**
 * A slug derived from the definition alone (not from parameters, `active` or the schedule's position),
 * so redeploying the same schedule, in any order and with any other change, keeps its slug — and the
 * idempotency keys of its runs (Prefect #17703: schedule identity that changed on redeploy duplicated runs).
 */
export function defaultSlug(def: ScheduleDefinition): string {
  return `${def.kind}-${createHash('sha256').update(definitionKey(def)).digest('hex').slice(0, 12)}`;
}

/**
 * Checks and completes the schedules of a deployment upsert: cron syntax (5 or 6 fields), a known
 * IANA zone, a cron that ever fires, unique slugs. Field paths start with `path` (e.g. `body.schedules`).
 */
export function normalizeSchedules(
  inputs: z.output<typeof ScheduleInputs>,
  path: string,
  now: Date,
): { schedules: NormalizedSchedule[]; errors: ScheduleFieldError[] } {
  const schedules: NormalizedSchedule[] = [];
  const errors: ScheduleFieldError[] = [];
  const slugs = new Map<string, number>();
  for (const [i, input] of inputs.entries()) {
    const at = `${path}.${i}`;
    let definition: ScheduleDefinition | null = null;
    if (input.cron !== undefined) {
      const cron = input.cron.trim().split(/\s+/).join(' ');
      const timezone = canonicalTimezone(input.timezone ?? 'UTC');
      if (timezone === null) errors.push({ path: `${at}.timezone`, message: `unknown IANA time zone "${input.timezone}"` });
      else {
        const problem = cronProblem(cron, timezone, now);
        if (problem) errors.push({ path: `${at}.cron`, message: problem });
        else definition = { kind: 'cron', cron, timezone };
      }
    } else if (input.intervalSeconds !== undefined) {
      definition = {
        kind: 'interval',
        intervalSeconds: input.intervalSeconds,
        anchorDate: input.anchorDate ? new Date(input.anchorDate) : DEFAULT_ANCHOR,
      };
    }
    if (!definition) continue;
    const slug = input.slug ?? defaultSlug(definition);
    const earlier = slugs.get(slug);
    if (earlier !== undefined) {
      errors.push({
        path: `${at}${input.slug ? '.slug' : ''}`,
        message: input.slug
          ? `slug "${slug}" is also used by schedule ${earlier}`
          : `the same schedule as schedule ${earlier}; give each a distinct slug`,
      });
      continue;
    }
    slugs.set(slug, i);
    schedules.push({
      slug,
      definition,
      active: input.active ?? true,
      parameters: input.parameters ?? {},
      catchup: input.catchup ?? 'latest',
    });
  }
  return { schedules, errors };
}

function cronProblem(cron: string, timezone: string, now: Date): string | null {
  try {
    const job = cronJob(cron, timezone);
    if (!job.nextRun(now)) return 'the cron expression never fires';
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    return `invalid cron expression: ${message}`;
  }
}
