import type { RunTokens } from './auth/run-tokens.js';
import type { Sql } from './db/client.js';
import type { Logger } from './logger.js';
import type { RunNotifier } from './runs/run-notifier.js';

/** What request handlers and loops share: compiled once at start, passed everywhere. */
export interface AppDeps {
  sql: Sql;
  logger: Logger;
  tokens: RunTokens;
  notifier: RunNotifier;
  /** Seconds a claim or heartbeat extends a lease by. */
  leaseSeconds: number;
  /** Check every response against its contract (tests and development). */
  validateResponses: boolean;
  /** Aborted when the server starts shutting down, so waiting claims answer at once. */
  shutdown: AbortSignal;
  /** The built dashboard served at `/`: the @outpost/dashboard package's dist when undefined, none when null. */
  dashboardDir?: string | null;
}
