import type { Db, Sql } from './client.js';

/**
 * Log lines live in monthly partitions of `logs`, by the line's own timestamp (migration 0042): the
 * first, `logs_history`, holds everything before the months (the table as it was before
 * partitioning, or nothing), then one `logs_YYYY_MM` a month. The functions that make and drop them
 * are in the migration, so the server, the retention loop and a person at psql use the same ones.
 */

/** Months made ahead of the current one, so a line stamped up to a day ahead always has a partition. */
export const LOG_MONTHS_AHEAD = 2;

/**
 * Longest a partition change waits for its locks. Making or dropping a partition takes an exclusive
 * lock on `logs` for a moment; one queued behind a long reader would hold up every writer queued
 * behind it, so it gives up instead and is tried again on the next pass.
 */
const LOCK_TIMEOUT_MS = 2_000;

/** Runs `statement` in a transaction of its own under the lock timeout; null when the timeout ended it. */
async function underLockTimeout<T>(sql: Sql, statement: (tx: Db) => Promise<T>): Promise<T | null> {
  try {
    let result: T | undefined;
    await sql.begin(async (tx) => {
      await tx`SELECT set_config('lock_timeout', ${String(LOCK_TIMEOUT_MS)}, true)`;
      result = await statement(tx);
    });
    return result as T;
  } catch (error) {
    // 55P03: lock_not_available, the lock timeout.
    if ((error as { code?: string }).code === '55P03') return null;
    throw error;
  }
}

/**
 * Makes the monthly partitions up to `LOG_MONTHS_AHEAD` months ahead; returns how many it made, or
 * null when it gave up waiting for its locks (the months ahead leave time for the next try).
 */
export async function ensureLogPartitions(sql: Sql): Promise<number | null> {
  return underLockTimeout(sql, async (tx) => {
    const [row] = await tx<{ made: number }[]>`SELECT ensure_log_partitions(${LOG_MONTHS_AHEAD}) AS made`;
    return row?.made ?? 0;
  });
}

/**
 * Removes, oldest first, every partition of `logs` whose lines are all stamped before `before`: each
 * is detached in a transaction of its own under the lock timeout (the only step that holds `logs`,
 * for milliseconds; one that gives up is left to the next pass), then the detached tables are
 * dropped, which removes their files without holding `logs`. The newest partition always stays.
 * At most `limit` partitions a call; `stopping` is asked between them. Returns the names of the
 * partitions dropped (a partition detached by a pass that stopped before dropping it included).
 */
export async function dropExpiredLogPartitions(
  sql: Sql,
  before: Date,
  options: { limit: number; stopping?: () => boolean },
): Promise<string[]> {
  for (let detached = 0; detached < options.limit && !options.stopping?.(); detached++) {
    const name = await underLockTimeout(sql, async (tx) => {
      const [row] = await tx<{ name: string | null }[]>`SELECT detach_oldest_log_partition(${before}) AS name`;
      return row?.name ?? null;
    });
    if (name === null) break;
  }
  const dropped = await sql<{ name: string }[]>`SELECT drop_detached_log_partitions() AS name`;
  return dropped.map((row) => row.name);
}
