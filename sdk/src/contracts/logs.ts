import * as z from 'zod';
import { BatchItemError, groupDigits, Id, MAX_BATCH_RUNS, Timestamp } from './common.js';
import { LOG_LEVELS } from './limits.js';

export const LogLevel = z.enum(LOG_LEVELS);
export type LogLevel = z.infer<typeof LogLevel>;

/** How far ahead of the control plane's clock a line's timestamp may be (a worker machine's clock drift). */
export const MAX_LOG_CLOCK_AHEAD_MS = 86_400_000;

export const LogLineInput = z.strictObject({
  /** Per (run, attempt), assigned by the worker, starting at 1; the idempotency key of the line. */
  seq: z.number().int().min(1),
  /**
   * When the line was written; at most a day ahead of the control plane's clock (logs are kept in
   * months of this time). A timestamp that does not parse is the format check's to report, once.
   */
  timestamp: z.iso.datetime({ offset: true }).refine((t) => !(Date.parse(t) > Date.now() + MAX_LOG_CLOCK_AHEAD_MS), {
    message: "is more than a day ahead of the control plane's clock: check the worker machine's clock (NTP)",
  }),
  level: LogLevel,
  message: z.string().max(32_768),
  taskRunId: Id.optional(),
  /** `stdout`, `stderr`, `flow` (SDK logger) or `worker`. */
  stream: z.enum(['stdout', 'stderr', 'flow', 'worker']).default('flow'),
});
export type LogLineInput = z.input<typeof LogLineInput>;

/** Lines one call may carry: for one run, and across all runs of a batch call. */
export const MAX_BATCH_LINES = 1000;

/** One run attempt's lines in one call. */
export const LogLines = z.array(LogLineInput).min(1).max(MAX_BATCH_LINES);

export const LogBatchRequest = z.strictObject({
  attempt: z.number().int().min(1),
  logs: LogLines,
});
export type LogBatchRequest = z.input<typeof LogBatchRequest>;

export const LogBatchResponse = z.strictObject({
  /** Lines stored by this request. */
  accepted: z.number().int(),
  /**
   * Lines not stored: already stored by an earlier delivery of the same (attempt, seq), or stamped
   * before the oldest month of lines the control plane keeps (past its log retention).
   */
  duplicates: z.number().int(),
});
export type LogBatchResponse = z.infer<typeof LogBatchResponse>;

/** Log batches of several runs the calling worker key holds, stored in one statement. */
export const LogBatchManyRequest = z.strictObject({
  items: z
    .array(
      z.strictObject({
        flowRunId: Id,
        attempt: z.number().int().min(1).max(2_147_483_647),
        logs: LogLines,
      }),
    )
    .min(1)
    .max(MAX_BATCH_RUNS)
    .superRefine((items, ctx) => {
      const lines = items.reduce((sum, item) => sum + item.logs.length, 0);
      if (lines > MAX_BATCH_LINES) {
        ctx.addIssue({ code: 'custom', path: [], message: `at most ${MAX_BATCH_LINES} lines in one batch call` });
      }
      const seen = new Set<string>();
      for (const [i, item] of items.entries()) {
        const key = `${item.flowRunId}/${item.attempt}`;
        if (seen.has(key)) {
          ctx.addIssue({ code: 'custom', path: [i, 'attempt'], message: 'each run attempt may appear once per batch' });
        }
        seen.add(key);
      }
    }),
});
export type LogBatchManyRequest = z.input<typeof LogBatchManyRequest>;

export const LogBatchManyResponse = z.strictObject({
  items: z.array(
    z.strictObject({
      flowRunId: Id,
      attempt: z.number().int(),
      accepted: z.number().int(),
      duplicates: z.number().int(),
      error: BatchItemError.nullable(),
    }),
  ),
});
export type LogBatchManyResponse = z.infer<typeof LogBatchManyResponse>;

export const LogLine = z.strictObject({
  attempt: z.number().int(),
  seq: z.number().int(),
  timestamp: Timestamp,
  level: LogLevel,
  message: z.string(),
  taskRunId: Id.nullable(),
  /** The name of the task run the line belongs to (null: the flow's own line). */
  taskName: z.string().nullable().optional(),
  stream: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;

/**
 * The most lines one search (`q`) reads past its cursor. A term found nowhere in a long log still
 * costs a bounded request: the answer says `more` and its cursor points at the last line read, and
 * the client reads on from there.
 */
export const LOG_SEARCH_SCAN_LINES = 200_000;

export const LogReadQuery = z.strictObject({
  /** Opaque cursor from a previous read; lines after it. */
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(5000).default(1000),
  level: LogLevel.optional(),
  /** A case-insensitive, literal substring of the message; the description is what the API reference shows. */
  q: z
    .string()
    .min(1)
    .max(200)
    // Postgres text cannot hold NUL, so no stored message contains one; as a pattern, the API reference says so too.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the character refused
    .regex(/^[^\u0000]*$/, 'must not contain NUL')
    .optional()
    .describe(
      'Only lines whose message contains this text, ignoring case; every character is literal (`%` and `_` too). ' +
        `One read looks at most ${groupDigits(LOG_SEARCH_SCAN_LINES)} lines past the cursor: ` +
        'read on from `nextCursor` while `more` is true.',
    ),
});
export type LogReadQuery = z.input<typeof LogReadQuery>;

export const LogReadResponse = z.strictObject({
  items: z.array(LogLine),
  /**
   * Pass back to read on; present even when `items` is empty, so a follower can keep polling. In a
   * search, the last line returned, or the last line looked at when fewer than `limit` matched.
   */
  nextCursor: z.string(),
  /**
   * Only in a search (`q`): true when lines after `nextCursor` were not looked at yet (it found
   * `limit` matches, or read its bound of lines), so reading on at once may find more; false when it
   * looked at every line stored.
   */
  more: z.boolean().optional(),
});
export type LogReadResponse = z.infer<typeof LogReadResponse>;
