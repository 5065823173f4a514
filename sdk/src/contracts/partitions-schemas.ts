import * as z from 'zod';
import { lazy } from './lazy.js';

/*
 * Partitions are keys, never data: a definition says which keys exist (a time window, a static
 * list, a named dynamic set, or two of these crossed), and both the SDK (`ctx.partition`) and the
 * control plane (backfills, the partition grid) enumerate them from the same definition with the
 * functions in `@outpost/sdk/partitions`.
 *
 * Key formats, chosen to sort in time order as plain strings within one definition:
 * - hourly: the window's local start with its offset, `2026-03-29T01:00+01:00` (the offset keeps
 *   the repeated hour of a DST fall-back distinct: `…T02:00+02:00` then `…T02:00+01:00`);
 * - daily and weekly: the local start date, `2026-03-01`;
 * - monthly: the first day of the month, `2026-03-01`;
 * - multi: the dimensions' keys joined by `|` in the definition's dimension order, `2026-03-01|eu`.
 */

/**
 * The schemas of `./partitions.js`, built on the first call and kept: the flow runtime reaches them
 * through this, so importing a flow bundle builds none of them. `./partitions.js` exports each one.
 */
export const partitionSchemas = lazy(() => {
  /** One partition's key. `|` is reserved as the multi-partition separator. */
  const PartitionKey = z
    .string()
    .min(1)
    .max(200)
    .regex(/^[^|\s][^|]*$/, 'must not be empty, start with a space or contain "|"');
  /** A key of any definition, multi included. */
  const AnyPartitionKey = z.string().min(1).max(400);

  const TimeCadence = z.enum(['hourly', 'daily', 'weekly', 'monthly']);

  const LocalDate = z.string().regex(/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2})?$/, 'use YYYY-MM-DD or YYYY-MM-DDTHH:mm (local time)');

  const TimeWindowPartitions = z.strictObject({
    kind: z.literal('time'),
    cadence: TimeCadence,
    /** The first window starts here, in `timezone` (local wall-clock time). */
    start: LocalDate,
    /** No window starts at or after this; open-ended (up to now) when absent. */
    end: LocalDate.optional(),
    /** IANA zone; windows follow its DST changes exactly. @default 'UTC' */
    timezone: z.string().min(1).max(100).default('UTC'),
    /** Weekly windows start on this ISO weekday (1 = Monday … 7 = Sunday). @default 1 */
    weekStartsOn: z.number().int().min(1).max(7).optional(),
    /** A window becomes a partition this many minutes after it closes (late-arriving data). @default 0 */
    endOffsetMinutes: z
      .number()
      .int()
      .min(0)
      .max(60 * 24 * 31)
      .optional(),
  });

  const StaticPartitions = z.strictObject({
    kind: z.literal('static'),
    keys: z.array(PartitionKey).min(1).max(100_000),
  });

  /** A named set of keys kept by the control plane; keys are added through the API or from a flow. */
  const DynamicPartitions = z.strictObject({
    kind: z.literal('dynamic'),
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-", starting with a letter or digit'),
  });

  const SinglePartitions = z.discriminatedUnion('kind', [TimeWindowPartitions, StaticPartitions, DynamicPartitions]);

  /** Two dimensions crossed: every key of the first with every key of the second. */
  const MultiPartitions = z.strictObject({
    kind: z.literal('multi'),
    dimensions: z
      .array(
        z.strictObject({
          name: z
            .string()
            .min(1)
            .max(50)
            .regex(/^[a-z][a-z0-9_]*$/),
          partitions: SinglePartitions,
        }),
      )
      .length(2)
      .refine((d) => d[0]?.name !== d[1]?.name, 'dimension names must differ'),
  });

  const PartitionsDefinition = z.discriminatedUnion('kind', [
    TimeWindowPartitions,
    StaticPartitions,
    DynamicPartitions,
    MultiPartitions,
  ]);
  return {
    PartitionKey,
    AnyPartitionKey,
    TimeCadence,
    TimeWindowPartitions,
    StaticPartitions,
    DynamicPartitions,
    SinglePartitions,
    MultiPartitions,
    PartitionsDefinition,
  };
});
