import * as z from 'zod';
import { Id, JsonObject, Name } from './common.js';
import { FlowRun } from './runs.js';

/**
 * A subflow: a flow called inside a running flow becomes a flow run of its own, linked to its
 * parent. It is created RUNNING, by the parent's run token, for the worker that runs the parent —
 * it runs in the parent's process and is never queued or claimed.
 */
export const FlowRunChildCreateRequest = z.strictObject({
  /** Client-generated, so a retried create returns the run it made. */
  id: Id,
  /** The attempt of the run that holds the token; the child carries the same attempt. */
  attempt: z.number().int().min(1),
  flowName: Name,
  name: z.string().min(1).max(200).optional(),
  parameters: JsonObject.optional(),
  /** The parent's task run that stands for the call. */
  parentTaskRunId: Id.optional(),
});
export type FlowRunChildCreateRequest = z.infer<typeof FlowRunChildCreateRequest>;

export const FlowRunChildListResponse = z.strictObject({ items: z.array(FlowRun) });
export type FlowRunChildListResponse = z.infer<typeof FlowRunChildListResponse>;
