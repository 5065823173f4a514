import * as z from 'zod';
import { Id, JsonObject, Name, Timestamp } from './common.js';
import { PartitionsDefinition } from './partitions.js';

/** Zone names that are UTC under another name: read as a fixed offset (below). */
const UTC_ZONES = new Set([
  'UTC',
  'Etc/UTC',
  'Etc/GMT',
  'GMT',
  'Etc/UCT',
  'UCT',
  'Etc/Universal',
  'Universal',
  'Etc/Zulu',
  'Zulu',
]);

/** The options of croner's `Cron` a schedule's cron is read with. */
export type CronReading = ({ utcOffset: 0 } | { timezone: string }) & { mode: '5-or-6-parts'; paused: true };

/**
 * How a schedule's cron is read, by the API's scheduler and by every preview of its next times, so
 * the two never disagree: the fields in the schedule's zone with croner (DST-correct), five or six
 * of them, the job never started. A UTC zone is passed as a fixed offset: the same instants, and
 * about ten times faster (croner formats a date per step in a named zone).
 */
export function cronReading(timezone: string): CronReading {
  const zone = UTC_ZONES.has(timezone) ? { utcOffset: 0 as const } : { timezone };
  return { ...zone, mode: '5-or-6-parts', paused: true };
}

/**
 * What the scheduler does with the scheduled times it missed while it was not running (an outage,
 * a long deploy): `all` creates a run for each (at most 100 per scheduler pass), `latest` only for
 * the most recent one, `none` for none. Skipped times are never created later.
 */
export const CatchupPolicy = z.enum(['all', 'latest', 'none']);
export type CatchupPolicy = z.infer<typeof CatchupPolicy>;

/** The longest interval a schedule may have: a leap year. */
const MAX_INTERVAL_SECONDS = 366 * 86_400;

const CronExpression = z
  .string()
  .trim()
  .max(200)
  .regex(/^\S+(\s+\S+){4,5}$/, 'a cron expression has 5 fields (minute hour day month weekday), or 6 with seconds first');

/**
 * One schedule of a deployment, as declared on deploy: exactly one of `cron` or `intervalSeconds`.
 * `slug` identifies it across redeploys (the idempotency key of its runs contains it); when absent
 * it is derived from the definition, so redeploying the same schedule keeps the same slug.
 */
export const ScheduleInput = z
  .strictObject({
    /** Unique per deployment. @default derived from cron + timezone, or interval + anchor */
    slug: Name.optional(),
    /** 5 fields (minute precision) or 6 (seconds first), e.g. `30 2 * * *`. */
    cron: CronExpression.optional(),
    /** IANA zone the cron fields are read in; DST-correct. Cron only. @default "UTC" */
    timezone: z.string().min(1).max(64).optional(),
    /** Seconds between runs (elapsed time, not wall-clock). */
    intervalSeconds: z.number().int().min(1).max(MAX_INTERVAL_SECONDS).optional(),
    /** A time the interval passes through. Interval only. @default "2020-01-01T00:00:00.000Z" */
    anchorDate: Timestamp.optional(),
    /** @default true */
    active: z.boolean().optional(),
    /** Merged over the deployment's default parameters for this schedule's runs. @default {} */
    parameters: JsonObject.optional(),
    /** @default "latest" */
    catchup: CatchupPolicy.optional(),
    /**
     * The partitions this schedule's runs work on: backfills of the deployment run over its keys,
     * and for a time-window definition each scheduled run carries the key of the latest window
     * closed by its scheduled time (with no cron or interval, the schedule fires at each window's
     * end). @default none
     */
    partitions: PartitionsDefinition.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.cron !== undefined && s.intervalSeconds !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'give exactly one of cron or intervalSeconds', path: [] });
    } else if (s.cron === undefined && s.intervalSeconds === undefined && s.partitions?.kind !== 'time') {
      ctx.addIssue({
        code: 'custom',
        message: 'give exactly one of cron or intervalSeconds (or time-window partitions, which fire at each window end)',
        path: [],
      });
    }
    if (s.cron === undefined && s.timezone !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'timezone applies to cron schedules only', path: ['timezone'] });
    }
    if (s.intervalSeconds === undefined && s.anchorDate !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'anchorDate applies to interval schedules only', path: ['anchorDate'] });
    }
  });
export type ScheduleInput = z.input<typeof ScheduleInput>;

/** The most schedules one deployment may have. */
export const MAX_SCHEDULES_PER_DEPLOYMENT = 50;
export const ScheduleInputs = z.array(ScheduleInput).max(MAX_SCHEDULES_PER_DEPLOYMENT);

export const Schedule = z.strictObject({
  id: Id,
  deploymentId: Id,
  slug: Name,
  cron: z.string().nullable(),
  timezone: z.string().nullable(),
  intervalSeconds: z.number().int().nullable(),
  anchorDate: Timestamp.nullable(),
  active: z.boolean(),
  parameters: JsonObject,
  catchup: CatchupPolicy,
  /** The partitions its runs and backfills work on. */
  partitions: PartitionsDefinition.nullable().optional(),
  /** Every scheduled time up to here has its run, or was skipped by the catch-up policy. */
  filledUntil: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type Schedule = z.infer<typeof Schedule>;

export const ScheduleListResponse = z.strictObject({ items: z.array(Schedule) });
export type ScheduleListResponse = z.infer<typeof ScheduleListResponse>;

/**
 * Changes one schedule: pause (`active: false`) or resume it, or change its definition (`cron` and
 * `timezone`, or `intervalSeconds` and `anchorDate`) or its parameters. Fields left out keep their
 * value; giving `cron` to an interval schedule (or `intervalSeconds` to a cron one) switches its kind.
 * A new definition replans the schedule: its runs nobody claimed yet are deleted and the scheduler
 * creates the new ones, keyed by (deployment, slug, time) as always. A redeploy replaces all of this
 * with what the deployment's config declares.
 */
export const ScheduleUpdateRequest = z
  .strictObject({
    active: z.boolean().optional(),
    cron: CronExpression.optional(),
    /** IANA zone; for a cron schedule only. */
    timezone: z.string().min(1).max(64).optional(),
    intervalSeconds: z.number().int().min(1).max(MAX_INTERVAL_SECONDS).optional(),
    /** For an interval schedule only. */
    anchorDate: Timestamp.optional(),
    /** Replaces the schedule's parameters (merged over the deployment's defaults for its runs). */
    parameters: JsonObject.optional(),
  })
  .superRefine((s, ctx) => {
    if (Object.values(s).every((v) => v === undefined))
      ctx.addIssue({ code: 'custom', message: 'give at least one field to change', path: [] });
    if (s.cron !== undefined && s.intervalSeconds !== undefined)
      ctx.addIssue({ code: 'custom', message: 'give either cron or intervalSeconds, not both', path: ['intervalSeconds'] });
    if (s.intervalSeconds !== undefined && s.timezone !== undefined)
      ctx.addIssue({ code: 'custom', message: 'timezone applies to cron schedules only', path: ['timezone'] });
    if (s.cron !== undefined && s.anchorDate !== undefined)
      ctx.addIssue({ code: 'custom', message: 'anchorDate applies to interval schedules only', path: ['anchorDate'] });
  });
export type ScheduleUpdateRequest = z.infer<typeof ScheduleUpdateRequest>;
