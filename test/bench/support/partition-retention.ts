import { createDatabaseBefore, migrateDatabase, startTestServer } from '@outpost/api/testing';
import postgres from 'postgres';
import { type Row, row } from './row.js';
import { monthlyPartitions } from './seed.js';

/** What the retention benches (log-, event- and task-run-retention) measure the same way for each partitioned table. */

export interface Month {
  name: string;
  starts: Date;
  ends: Date;
}

/** Bytes of a table with its indexes and TOAST. */
export async function tableBytes(sql: postgres.Sql, table: string): Promise<number> {
  const [r] = await sql<{ bytes: number }[]>`SELECT pg_total_relation_size(${table}::regclass)::float8 AS bytes`;
  return r?.bytes ?? 0;
}

/**
 * Makes the months of `parent` from three months ago, as a table a few months old has them, and
 * returns the oldest two (after the first partition): one to drop, one to delete row by row.
 */
async function twoPastMonths(sql: postgres.Sql, parent: 'logs' | 'events' | 'task_runs'): Promise<[Month, Month]> {
  const now = new Date();
  await monthlyPartitions(sql, parent, new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 3, 1)));
  const [dropped, deleted] = await sql<Month[]>`
    SELECT name, starts, ends FROM table_partitions WHERE parent = ${parent} AND name <> ${`${parent}_history`}
    ORDER BY ends LIMIT 2`;
  if (!dropped || !deleted) throw new Error(`expected two past months of ${parent} partitions`);
  return [dropped, deleted];
}

/**
 * The baseline: every row of `partition` deleted in statements of `batch` rows (by ctid, the
 * cheapest such DELETE), then the VACUUM that makes their space reusable.
 */
async function batchedDeleteThenVacuum(
  sql: postgres.Sql,
  partition: string,
  batch: number,
): Promise<{ rows: number; deleteMs: number; vacuumMs: number; bytesBefore: number; bytesAfterDelete: number }> {
  const bytesBefore = await tableBytes(sql, partition);
  const deleteStarted = performance.now();
  let rows = 0;
  for (;;) {
    const result = await sql.unsafe(
      `DELETE FROM ${partition} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${partition} LIMIT ${batch}))`,
    );
    rows += result.count;
    if (result.count < batch) break;
  }
  const deleteMs = performance.now() - deleteStarted;
  const bytesAfterDelete = await tableBytes(sql, partition);
  const vacuumStarted = performance.now();
  await sql.unsafe(`VACUUM ${partition}`);
  return { rows, deleteMs, vacuumMs: performance.now() - vacuumStarted, bytesBefore, bytesAfterDelete };
}

/**
 * Retention as it is: the oldest months of `parent` go whole, the empty first partition and then
 * `month`, each detached (the step that holds the table) and dropped (its files removed). Times
 * `month`'s two steps.
 */
async function detachAndDropMonth(
  sql: postgres.Sql,
  parent: 'logs' | 'events' | 'task_runs',
  month: Month,
): Promise<{ bytes: number; detachMs: number; dropMs: number }> {
  await sql`SELECT detach_oldest_partition(${parent}, ${month.starts})`;
  await sql`SELECT drop_detached_partitions()`;
  const bytes = await tableBytes(sql, month.name);
  const detachStarted = performance.now();
  const [r] = await sql<{ name: string | null }[]>`SELECT detach_oldest_partition(${parent}, ${month.ends}) AS name`;
  const detachMs = performance.now() - detachStarted;
  if (r?.name !== month.name) throw new Error(`expected ${month.name} detached, got ${r?.name}`);
  const dropStarted = performance.now();
  await sql`SELECT drop_detached_partitions()`;
  return { bytes, detachMs, dropMs: performance.now() - dropStarted };
}

/** A month going by retention, measured against the same month deleted row by row. */
export interface MonthRetention {
  /** Rows the batched DELETE removed, its time, and the VACUUM's after it. */
  deleted: number;
  deleteMs: number;
  vacuumMs: number;
  /** Bytes of the deleted month before the DELETE, and after it (until VACUUM). */
  bytesBefore: number;
  bytesAfterDelete: number;
  /** Bytes of the dropped month, and the times of its detach and its drop. */
  droppedBytes: number;
  detachMs: number;
  dropMs: number;
}

/**
 * The two past months of `parent` (twoPastMonths), each filled by `fill`; then the baseline on one
 * (its rows deleted in statements of `batch`, then VACUUM) and retention as it is on the other
 * (detached, the step that holds the table, then dropped).
 */
export async function measureMonthRetention(
  sql: postgres.Sql,
  parent: 'logs' | 'events' | 'task_runs',
  options: { batch: number; fill: (month: Month, dropped: boolean) => Promise<void> },
): Promise<MonthRetention> {
  const [dropped, deleted] = await twoPastMonths(sql, parent);
  await options.fill(dropped, true);
  await options.fill(deleted, false);
  await sql`CHECKPOINT`;
  const baseline = await batchedDeleteThenVacuum(sql, deleted.name, options.batch);
  const retention = await detachAndDropMonth(sql, parent, dropped);
  return {
    deleted: baseline.rows,
    deleteMs: baseline.deleteMs,
    vacuumMs: baseline.vacuumMs,
    bytesBefore: baseline.bytesBefore,
    bytesAfterDelete: baseline.bytesAfterDelete,
    droppedBytes: retention.bytes,
    detachMs: retention.detachMs,
    dropMs: retention.dropMs,
  };
}

/** The notes' sentence on a month of `count` `unit` (a plural noun) going by retention. */
export function retentionNote(count: number, unit: string, m: MonthRetention): string {
  const mb = (bytes: number) => `${(bytes / 1048576).toFixed(0)} MB`;
  return (
    `A month of ${count.toLocaleString('en')} ${unit}: ${mb(m.droppedBytes)} with its indexes. The batched DELETE of ` +
    `${m.deleted.toLocaleString('en')} ${unit} took ${m.deleteMs.toFixed(0)} ms and left the partition at ${mb(m.bytesAfterDelete)} ` +
    `(of ${mb(m.bytesBefore)}) until VACUUM (${m.vacuumMs.toFixed(0)} ms); the detach took ${m.detachMs.toFixed(1)} ms and the drop ` +
    `that removed its files ${m.dropMs.toFixed(0)} ms.`
  );
}

/**
 * Milliseconds the migration `tag` takes over a table `fill` fills (on a database migrated up to
 * just before it), and milliseconds `newKey`, the index it builds, takes alone on the same table.
 * `check` throws unless the migration kept every row.
 */
export async function timedUpgrade(options: {
  tag: string;
  fill: (sql: postgres.Sql, workspaceId: string) => Promise<void>;
  newKey: string;
  check: (sql: postgres.Sql) => Promise<void>;
}): Promise<{ migrateMs: number; indexMs: number }> {
  const db = await createDatabaseBefore(options.tag);
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    const [ws] = await sql<{ id: string }[]>`INSERT INTO workspaces (slug, name) VALUES ('old', 'Old') RETURNING id`;
    await options.fill(sql, ws?.id as string);
    await sql`CHECKPOINT`;
    const indexStarted = performance.now();
    await sql.unsafe(`CREATE UNIQUE INDEX bench_new_key ON ${options.newKey}`);
    const indexMs = performance.now() - indexStarted;
    await sql`DROP INDEX bench_new_key`;
    const started = performance.now();
    await migrateDatabase(db.url);
    const migrateMs = performance.now() - started;
    await options.check(sql);
    return { migrateMs, indexMs };
  } finally {
    await sql.end({ timeout: 5 });
    await db.drop();
  }
}

/** One retention bench: a partitioned table, the rows of a month of it, and the migration that partitioned it. */
export interface RetentionBench {
  parent: 'logs' | 'events' | 'task_runs';
  /** Its rows, a plural noun: `log lines`. */
  unit: string;
  /** The rows of one month, as `fill` writes them. */
  count: number;
  /** Rows a statement of the baseline deletes, and that statement's name in the baseline's label (`5,000-event`). */
  batch: number;
  batchName: string;
  /** Writes a month's rows into `month` (the one retention drops, or the one the baseline deletes from). */
  fill: (sql: postgres.Sql, workspaceId: string, month: Month, dropped: boolean) => Promise<void>;
  /** The migration that partitioned the table (`0042`), timed over a month of rows by `timedUpgrade`. */
  migration: string;
  upgrade: () => Promise<{ migrateMs: number; indexMs: number }>;
  /** What else is timed once the month is gone: its rows, after the drop's, and its sentence for the notes. */
  afterDrop?: (sql: postgres.Sql, baselineMs: number) => Promise<{ rows: Row[]; note: string }>;
}

/**
 * Runs a retention bench: the migration's upgrade, then, on a test server's database, a month
 * detached and dropped against the baseline of the same rows deleted in batches and vacuumed.
 * Returns the bench's rows and its notes.
 */
export async function runRetentionBench(bench: RetentionBench): Promise<{ rows: Row[]; notes: string }> {
  const { migrateMs, indexMs } = await bench.upgrade();
  const server = await startTestServer({ loops: false, validateResponses: false });
  const sql = postgres(server.databaseUrl, { max: 2, onnotice: () => {} });
  try {
    const m = await measureMonthRetention(sql, bench.parent, {
      batch: bench.batch,
      fill: (month, dropped) => bench.fill(sql, server.workspaceId, month, dropped),
    });
    if (m.deleted !== bench.count) throw new Error(`expected ${bench.count} ${bench.unit} deleted, deleted ${m.deleted}`);
    const baseline = m.deleteMs + m.vacuumMs;
    const more = (await bench.afterDrop?.(sql, baseline)) ?? { rows: [], note: 'The drop gives the space back at once.' };
    const millions = `${(bench.count / 1e6).toFixed(1)} M ${bench.unit}`;
    const table = bench.parent.replace('_', ' ');
    const rows = [
      row(
        `retention: detach a month of ${millions} (what writers wait for)`,
        m.detachMs,
        'ms',
        baseline,
        `the same ${bench.unit} deleted in ${bench.batchName} statements (by ctid), then VACUUM`,
      ),
      row(`retention: then drop it (its files removed, ${table} not held)`, m.dropMs, 'ms', baseline),
      ...more.rows,
      row(`retention: the batched DELETE alone, ${millions}`, m.deleteMs, 'ms', null),
      row(
        `upgrade: migration ${bench.migration} over ${millions}, unpartitioned`,
        migrateMs / 1000,
        's',
        indexMs / 1000,
        'building the new key alone on the same table',
      ),
    ];
    return { rows, notes: `${retentionNote(bench.count, bench.unit, m)} ${more.note}` };
  } finally {
    await sql.end({ timeout: 5 });
    await server.close();
  }
}
