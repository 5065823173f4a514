import type { z } from 'zod';
import { FlowRun } from './runs.js';

/**
 * `GET /api/v1/flow-runs/events` — Server-Sent Events (`text/event-stream`). Each change of a flow
 * run in the caller's workspace (created, state changed) is one unnamed event whose `data:` line is
 * the run's full JSON, exactly as `GET /flow-runs/:id` returns it; a `: ping` comment comes every
 * ~15 s. Delivery is a hint, not a guarantee: clients re-read what they show after reconnecting.
 */
export const FlowRunEvent = FlowRun;
export type FlowRunEvent = z.infer<typeof FlowRunEvent>;
