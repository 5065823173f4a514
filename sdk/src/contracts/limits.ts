/*
 * Constants (and one plain function) of the contracts that the flow runtime needs without any
 * schema. This module builds none, so importing a flow bundle does not build the contracts'
 * schemas for a name, a limit or a state's result reference. The contract modules re-export each
 * one where it has always been.
 */

/** The flow every asset deployment runs: it materialises the assets its parameters select. */
export const ASSET_FLOW_NAME = 'assets';

/** Largest materialisation or check metadata, as UTF-8 JSON. */
export const ASSET_METADATA_MAX_BYTES = 16 * 1024;

/** The most bytes an event's payload takes as JSON: events are facts, not data. */
export const MAX_EVENT_PAYLOAD_BYTES = 16 * 1024;

/**
 * The longest message a state carries, in UTF-16 code units. A message is a one-line reason (an
 * error's text, why a run was cancelled), stored on every state row and shown in lists; whoever
 * writes one (runtime, worker) cuts it to this length rather than have the proposal refused.
 */
export const MAX_STATE_MESSAGE_LENGTH = 4000;

/** The most runs one backfill may hold in flight at once (its `maxConcurrent`). */
export const MAX_BACKFILL_IN_FLIGHT = 1_000;

/** The levels of a log line, lowest first (`LogLevel` in the logs contract). */
export const LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;

/**
 * The reference a COMPLETED state's `data` carries when its run stored its return value in the
 * customer's result storage (`{ "resultRef": "s3://…" }`); null otherwise. The value itself never
 * reaches the control plane.
 */
export function resultRefOf(data: unknown): string | null {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return null;
  const ref = (data as { resultRef?: unknown }).resultRef;
  return typeof ref === 'string' && ref.length > 0 ? ref : null;
}
