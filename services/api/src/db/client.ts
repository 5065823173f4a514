import postgres from 'postgres';

export type Sql = postgres.Sql;
export type TxSql = postgres.TransactionSql;
/** A pool or a transaction: query modules run in either. */
export type Db = postgres.Sql | postgres.TransactionSql;

export interface ConnectOptions {
  /** Pool size. @default 20 */
  max?: number;
  applicationName?: string;
}

/** postgres.js pool for the API. Timestamps come back as Date, json/jsonb as parsed values. */
export async function connectDatabase(url: string, options: ConnectOptions = {}): Promise<Sql> {
  const sql = postgres(url, {
    max: options.max ?? 20,
    idle_timeout: 60,
    connect_timeout: 10,
    onnotice: () => {},
    // JIT off: the API's queries are short, and on a large workspace the planner's cost estimates
    // made Postgres compile some of them first (300–770 ms for the asset catalog's check subqueries at
    // 10,000 assets, against 10–32 ms run without; test/bench/year.ts).
    connection: { application_name: options.applicationName ?? 'outpost-api', jit: 'off' },
  });
  // postgres.js learns array type oids on its first connection; a parameter built before that
  // serialises a string array wrongly, so one round trip happens before anything else uses the pool.
  try {
    await sql`SELECT 1`;
  } catch (error) {
    await sql.end({ timeout: 0 });
    throw error;
  }
  // The types are the pool's, shared by every connection it opens later. Fetching them again on
  // each new connection would cost a round trip, and postgres.js 3.4 leaves a failure of that fetch
  // (the connection dropped mid-handshake, as when Postgres restarts) as an unhandled rejection,
  // which ends a Node process, while it reconnects in a tight loop.
  sql.options.fetch_types = false;
  return sql;
}

/**
 * Planner settings a read can run under, each for a plan the planner misjudges on its own (see
 * where each is used). A closed list, so no text reaches SET from elsewhere.
 */
export type PlannerSetting = 'enable_sort = off' | 'plan_cache_mode = force_custom_plan';

/**
 * How many rows `rows` holds: a FROM list with its conditions, as in
 * countRows(db, db`directory_users WHERE organisation_id = ${id}`).
 */
export async function countRows(db: Db, rows: postgres.PendingQuery<postgres.Row[]>): Promise<number> {
  const [row] = await db<{ n: number }[]>`SELECT count(*)::int AS n FROM ${rows}`;
  return row?.n ?? 0;
}

/**
 * Runs `read` in a transaction of its own under `setting` (SET LOCAL: it ends with the
 * transaction, so the pooled connection goes back as it was).
 */
export async function withPlanner<T>(sql: Sql, setting: PlannerSetting, read: (tx: Db) => Promise<T>): Promise<T> {
  let result: T | undefined;
  await sql.begin(async (tx) => {
    await tx.unsafe(`SET LOCAL ${setting}`);
    result = await read(tx);
  });
  return result as T;
}
