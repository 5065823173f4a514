/*
 * The LISTEN/NOTIFY channels: the names the migrations' triggers and the API's statements send on,
 * and runs/run-notifier.ts listens to on one connection of its own. A notification is a hint: each
 * listener also looks on its own schedule and after a reconnect, so a lost one delays, never loses.
 */

/**
 * Waiting claims' channel: the payload is a pool's id when a run of the pool may have become
 * claimable (created, due, released by a limit), or `wait:<id>` when a wait ended with its run.
 */
export const RUNS_CHANNEL = 'outpost_runs';

/**
 * Flow-run changes (created, state changed), read by the API's event streams. The trigger of
 * migration 0005 sends on it for every writer of flow_runs. The payload names only the workspace
 * and the run; listeners re-read the run scoped to the workspace, so nothing about a run travels
 * through the channel.
 */
export const RUN_EVENTS_CHANNEL = 'outpost_run_events';

/**
 * Wakes the backfill loop: a backfill run left flight (a trigger on flow_runs), or a backfill was
 * created, resumed or given partitions to retry. The payload is the backfill's id.
 */
export const BACKFILLS_CHANNEL = 'outpost_backfills';

/** The ledger's statement trigger notifies it once per transaction that wrote events. */
export const LEDGER_CHANNEL = 'outpost_events';

/** The notification outbox's trigger notifies it when a delivery is created or retried. */
export const NOTIFICATIONS_CHANNEL = 'outpost_notifications';
