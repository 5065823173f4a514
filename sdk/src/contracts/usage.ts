import * as z from 'zod';
import { WorkspaceSlug } from './workspaces.js';

/**
 * What a workspace used in a UTC month, as the control plane counted it when each row was written
 * (so it outlives retention): runs and task runs created; seconds its runs spent RUNNING on workers,
 * from the state the worker reported at the start of each stretch to the one that ended it; log
 * lines and the bytes of their messages; events stored in the ledger; and the bytes of all those rows
 * as stored (the metadata the control plane keeps for it).
 */
export const USAGE_MEASURES = ['runs', 'taskRuns', 'computeSeconds', 'logLines', 'logBytes', 'events', 'metadataBytes'] as const;
export type UsageMeasure = (typeof USAGE_MEASURES)[number];

/** The most months one usage answer covers. */
export const USAGE_MONTHS_MAX = 24;

/** A month as `YYYY-MM` (UTC). */
/** Months from 2000-01 to 2999-12: every month usage can have been counted in, with room to spare. */
const MONTH = /^2\d{3}-(0[1-9]|1[0-2])$/;
export const UsageMonth = z.string().regex(MONTH, 'must be a month as YYYY-MM, from 2000-01');

const count = z.number().int().min(0);

export const WorkspaceMonthUsage = z.strictObject({
  /** The workspace's slug. */
  workspace: z.string(),
  /** The month, `YYYY-MM`. */
  month: z.string(),
  runs: count,
  taskRuns: count,
  computeSeconds: z.number().min(0),
  logLines: count,
  logBytes: count,
  events: count,
  metadataBytes: count,
});
export type WorkspaceMonthUsage = z.infer<typeof WorkspaceMonthUsage>;

/**
 * The months a usage query covers: `to` is the current month unless named, `from` is `to` unless
 * named. Both are `YYYY-MM`.
 */
export function usageRange(
  q: { from?: string | undefined; to?: string | undefined },
  now = new Date(),
): { from: string; to: string } {
  const to = q.to ?? now.toISOString().slice(0, 7);
  return { from: q.from ?? to, to };
}

/** Months from `from` to `to`, both included (0 or less when `to` is before `from`). */
export function monthsBetween(from: string, to: string): number {
  const index = (m: string) => Number(m.slice(0, 4)) * 12 + Number(m.slice(5, 7));
  return index(to) - index(from) + 1;
}

/** The range covers at most USAGE_MONTHS_MAX months (see usageRange for what is left out). */
export const OrganisationUsageQuery = z
  .strictObject({
    from: UsageMonth.optional(),
    to: UsageMonth.optional(),
    /** Only this workspace (its slug). */
    workspace: WorkspaceSlug.optional(),
  })
  .superRefine((q, ctx) => {
    const { from, to } = usageRange(q);
    // A month the pattern refused is already reported.
    if (!MONTH.test(from) || !MONTH.test(to)) return;
    const months = monthsBetween(from, to);
    if (months < 1)
      ctx.addIssue({ code: 'custom', path: [q.to === undefined ? 'from' : 'to'], message: `${to} is before ${from}` });
    else if (months > USAGE_MONTHS_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['from'],
        message: `a usage answer covers at most ${USAGE_MONTHS_MAX} months; ${from} to ${to} is ${months}`,
      });
    }
  });
export type OrganisationUsageQuery = z.input<typeof OrganisationUsageQuery>;

export const OrganisationUsageResponse = z.strictObject({
  from: z.string(),
  to: z.string(),
  /**
   * Every workspace of the organisation (or the one named) for every month of the range, zeros
   * included, ordered by month and then workspace slug.
   */
  items: z.array(WorkspaceMonthUsage),
});
export type OrganisationUsageResponse = z.infer<typeof OrganisationUsageResponse>;
