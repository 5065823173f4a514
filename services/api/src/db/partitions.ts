import type { Db, Sql } from './client.js';

/**
 * Log lines, events and task runs live in monthly partitions: `logs` by the line's own timestamp
 * (migration 0042), `events` by the time the ledger received the event (0044), `task_runs` by the
 * task run's creation (0045). The first partition of each,
 * `<table>_history`, holds everything before the months (the table as it was before partitioning,
 * or nothing), then one `<table>_YYYY_MM` a month, all listed in `table_partitions`. The functions
 * that make and drop them are in the migrations, so the server, the retention loop and a person at
 * psql use the same ones.
 */

/** The tables partitioned by month. */
export const PARTITIONED = ['logs', 'events', 'task_runs'] as const;
export type PartitionedTable = (typeof PARTITIONED)[number];

/** Months made ahead of the current one, so a row stamped up to a day ahead always has a partition. */
export const MONTHS_AHEAD = 2;

/**
 * Longest a partition change waits for its locks. Making or detaching a partition takes an
 * exclusive lock on its table for a moment; one queued behind a long reader would hold up every
 * writer queued behind it, so it gives up instead and is tried again on the next pass.
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
 * Makes the monthly partitions of every partitioned table up to `MONTHS_AHEAD` months ahead, each
 * table in a transaction of its own; returns how many it made, or null when one gave up waiting for
 * its locks (the months ahead leave time for the next try; the other tables are still made).
 */
export async function ensurePartitions(sql: Sql): Promise<number | null> {
  let made: number | null = 0;
  for (const table of PARTITIONED) {
    const n = await underLockTimeout(sql, async (tx) => {
      const [row] = await tx<{ made: number }[]>`SELECT ensure_partitions(${table}, ${MONTHS_AHEAD}) AS made`;
      return row?.made ?? 0;
    });
    made = n === null || made === null ? null : made + n;
  }
  return made;
}

/**
 * Detaches, oldest first, every partition of `table` whose rows are all before `before`: each in a
 * transaction of its own under the lock timeout (the only step that holds the table, for
 * milliseconds; one that gives up is left to the next pass). The newest partition always stays. At
 * most `limit` partitions a call; `stopping` is asked between them. Returns the names detached.
 */
export async function detachExpiredPartitions(
  sql: Sql,
  table: PartitionedTable,
  before: Date,
  options: { limit: number; stopping?: () => boolean },
): Promise<string[]> {
  const detached: string[] = [];
  while (detached.length < options.limit && !options.stopping?.()) {
    const name = await underLockTimeout(sql, async (tx) => {
      const [row] = await tx<{ name: string | null }[]>`SELECT detach_oldest_partition(${table}, ${before}) AS name`;
      return row?.name ?? null;
    });
    if (name === null) break;
    detached.push(name);
  }
  return detached;
}

/**
 * Drops every detached partition, of any table (a partition detached by a pass that stopped before
 * dropping it included): their files go without holding the tables they belonged to. Returns their names.
 */
export async function dropDetachedPartitions(sql: Sql): Promise<string[]> {
  const dropped = await sql<{ name: string }[]>`SELECT drop_detached_partitions() AS name`;
  return dropped.map((row) => row.name);
}
