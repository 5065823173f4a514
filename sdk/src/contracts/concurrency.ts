import * as z from 'zod';
import { Id, Tag, Timestamp } from './common.js';
import { MAX_STATE_MESSAGE_LENGTH } from './states.js';

/**
 * A global concurrency limit by tag: at most `limit` runs carrying `tag` are PENDING, RUNNING or
 * CANCELLING at once, across every pool of the workspace. A run with several limited tags needs a
 * slot in each. Slots are counted from the runs themselves, so they cannot leak.
 */
export const ConcurrencyLimit = z.strictObject({
  id: Id,
  tag: Tag,
  limit: z.number().int(),
  /** Runs holding a slot now (PENDING, RUNNING or CANCELLING with the tag). */
  active: z.number().int(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
});
export type ConcurrencyLimit = z.infer<typeof ConcurrencyLimit>;

export const ConcurrencyLimitCreateRequest = z.strictObject({
  tag: Tag,
  /** 0 holds every run with the tag back. */
  limit: z.number().int().min(0).max(100_000),
});
export type ConcurrencyLimitCreateRequest = z.infer<typeof ConcurrencyLimitCreateRequest>;

export const ConcurrencyLimitUpdateRequest = z.strictObject({
  limit: z.number().int().min(0).max(100_000),
});
export type ConcurrencyLimitUpdateRequest = z.infer<typeof ConcurrencyLimitUpdateRequest>;

export const ConcurrencyLimitListResponse = z.strictObject({ items: z.array(ConcurrencyLimit) });
export type ConcurrencyLimitListResponse = z.infer<typeof ConcurrencyLimitListResponse>;

/** What happens to a run that becomes due while its deployment is at its concurrency limit. */
export const CollisionStrategy = z.enum(['ENQUEUE', 'CANCEL_NEW']);
export type CollisionStrategy = z.infer<typeof CollisionStrategy>;

/** Body of the cancel and retry convenience routes; `{}` is enough. */
export const FlowRunActionRequest = z.strictObject({
  /** Client-generated; repeating it replays the first answer instead of acting twice. */
  transitionId: Id.optional(),
  /** Recorded on the resulting state, e.g. why the run was cancelled. */
  message: z.string().max(MAX_STATE_MESSAGE_LENGTH).optional(),
});
export type FlowRunActionRequest = z.infer<typeof FlowRunActionRequest>;
