import { createHash } from 'node:crypto';
import type { CatchupPolicy, PartitionsDefinition, ScheduleInputs, SinglePartitions } from '@outpost/sdk/contracts';
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
  /** The partitions its runs and backfills work on. */
  partitions: PartitionsDefinition | null;
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

/** JSON with object keys sorted: equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** The definition as one canonical string: equal definitions, and only those, give equal strings. */
export function definitionKey(def: ScheduleDefinition): string {
  switch (def.kind) {
    case 'cron':
      return `cron\n${def.cron}\n${def.timezone}`;
    case 'interval':
      return `interval\n${def.intervalSeconds}\n${def.anchorDate.toISOString()}`;
    case 'windows':
      return `windows\n${canonicalJson(def.partitions)}`;
  }
}

/** What is wrong with a partitions definition the schema alone cannot see: zones, dates, repeated keys. */
export function partitionsErrors(def: PartitionsDefinition, path: string): ScheduleFieldError[] {
  const single = (d: SinglePartitions, at: string): ScheduleFieldError[] => {
    if (d.kind === 'static') {
      const seen = new Set<string>();
      const repeated = d.keys.find((k) => seen.has(k) || !seen.add(k));
      return repeated === undefined ? [] : [{ path: `${at}.keys`, message: `lists "${repeated}" twice` }];
    }
    if (d.kind !== 'time') return [];
    const errors: ScheduleFieldError[] = [];
    if (canonicalTimezone(d.timezone) === null)
      errors.push({ path: `${at}.timezone`, message: `unknown IANA time zone "${d.timezone}"` });
    for (const field of ['start', 'end'] as const) {
      const value = d[field];
      if (value === undefined) continue;
      if (d.cadence !== 'hourly' && value.includes('T'))
        errors.push({ path: `${at}.${field}`, message: `${d.cadence} partitions ${field} on a date (YYYY-MM-DD)` });
      else if (Number.isNaN(Date.parse(`${value.slice(0, 10)}T00:00:00Z`)))
        errors.push({ path: `${at}.${field}`, message: `"${value}" is not a valid date` });
    }
    if (d.end !== undefined && d.end <= d.start) errors.push({ path: `${at}.end`, message: 'must be after start' });
    return errors;
  };
  if (def.kind !== 'multi') return single(def, path);
  return def.dimensions.flatMap((d, i) => single(d.partitions, `${path}.dimensions.${i}.partitions`));
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
    const partitions = input.partitions ?? null;
    const partitionProblems = partitions ? partitionsErrors(partitions, `${at}.partitions`) : [];
    errors.push(...partitionProblems);
    // No cron or interval: the contract let it through only with time-window partitions, which fire at each window's end.
    if (!definition && partitions?.kind === 'time' && input.cron === undefined && input.intervalSeconds === undefined) {
      if (partitionProblems.length === 0) definition = { kind: 'windows', partitions };
    }
    if (!definition || partitionProblems.length > 0) continue;
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
      partitions,
    });
  }
  return { schedules, errors };
}

/** Why a cron expression cannot be scheduled in `timezone` (a canonical zone), or null when it can. */
export function cronProblem(cron: string, timezone: string, now: Date): string | null {
  try {
    const job = cronJob(cron, timezone);
    if (!job.nextRun(now)) return 'the cron expression never fires';
    return null;
  } catch (error) {
    const message = error instanceof Error ? error.message.replace(/^CronPattern: /, '') : String(error);
    return `invalid cron expression: ${message}`;
  }
}
