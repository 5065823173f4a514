import { randomUUID } from 'node:crypto';
import type postgres from 'postgres';

/**
 * The floor for a run's lifecycle: the same four steps as the API (claim with a lease, RUNNING,
 * one log batch, COMPLETED), each one SQL statement on bare tables, with the state history and
 * the holder check the API also keeps — and nothing else (no auth, validation, rules, tokens).
 */
export async function createRawTables(sql: postgres.Sql): Promise<void> {
  await sql`DROP TABLE IF EXISTS bench_runs, bench_run_states, bench_logs`;
  await sql`
    CREATE TABLE bench_runs (
      id uuid PRIMARY KEY,
      state text NOT NULL DEFAULT 'SCHEDULED',
      attempt int NOT NULL DEFAULT 1,
      worker_id uuid,
      lease_expires_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )`;
  await sql`CREATE INDEX bench_runs_due ON bench_runs (created_at, id) WHERE state = 'SCHEDULED'`;
  await sql`
    CREATE TABLE bench_run_states (
      id bigserial PRIMARY KEY, run_id uuid NOT NULL, attempt int NOT NULL, type text NOT NULL,
      timestamp timestamptz NOT NULL DEFAULT now()
    )`;
  await sql`
    CREATE TABLE bench_logs (
      run_id uuid NOT NULL, attempt int NOT NULL, seq int NOT NULL, timestamp timestamptz NOT NULL,
      level text NOT NULL, message text NOT NULL, PRIMARY KEY (run_id, attempt, seq)
    )`;
}

export async function dropRawTables(sql: postgres.Sql): Promise<void> {
  await sql`DROP TABLE IF EXISTS bench_runs, bench_run_states, bench_logs`;
}

export async function insertRawRuns(sql: postgres.Sql, count: number): Promise<void> {
  const rows = Array.from({ length: count }, () => ({ id: randomUUID() }));
  await sql`INSERT INTO bench_runs ${sql(rows)}`;
}

export async function rawClaim(sql: postgres.Sql, workerId: string): Promise<{ id: string; attempt: number } | null> {
  const [run] = await rawClaimMany(sql, workerId, 1);
  return run ?? null;
}

/** Moves the run only while this worker holds this attempt (the fencing check). */
export async function rawSetState(
  sql: postgres.Sql,
  input: { runId: string; attempt: number; workerId: string; state: 'RUNNING' | 'COMPLETED' },
): Promise<boolean> {
  const rows = await sql`
    WITH moved AS (
      UPDATE bench_runs SET state = ${input.state}, updated_at = now()
      WHERE id = ${input.runId} AND attempt = ${input.attempt} AND worker_id = ${input.workerId}
      RETURNING id, attempt
    )
    INSERT INTO bench_run_states (run_id, attempt, type) SELECT id, attempt, ${input.state} FROM moved RETURNING run_id`;
  return rows.length === 1;
}

export interface RawLogLine {
  seq: number;
  timestamp: string;
  level: 'info';
  message: string;
}

export async function rawInsertLogs(
  sql: postgres.Sql,
  runId: string,
  attempt: number,
  lines: readonly RawLogLine[],
): Promise<number> {
  const rows = lines.map((l) => ({ run_id: runId, attempt, ...l }));
  const result = await sql`INSERT INTO bench_logs ${sql(rows)} ON CONFLICT DO NOTHING`;
  return result.count;
}

/** The log batch every variant sends: a no-op run's few lines. */
export function logBatch(lines: number): RawLogLine[] {
  const now = new Date().toISOString();
  return Array.from({ length: lines }, (_, i) => ({ seq: i + 1, timestamp: now, level: 'info', message: `no-op line ${i + 1}` }));
}

/** Claims up to `limit` runs in one statement, as the API's claim does with its limit (1 unbatched). */
export async function rawClaimMany(
  sql: postgres.Sql,
  workerId: string,
  limit: number,
): Promise<{ id: string; attempt: number }[]> {
  return sql<{ id: string; attempt: number }[]>`
    WITH picked AS (
      SELECT id FROM bench_runs WHERE state = 'SCHEDULED' ORDER BY created_at, id LIMIT ${limit} FOR UPDATE SKIP LOCKED
    ), claimed AS (
      UPDATE bench_runs r SET state = 'PENDING', worker_id = ${workerId}, lease_expires_at = now() + interval '30 seconds',
        updated_at = now()
      FROM picked WHERE r.id = picked.id AND r.state = 'SCHEDULED'
      RETURNING r.id, r.attempt
    ), history AS (
      INSERT INTO bench_run_states (run_id, attempt, type) SELECT id, attempt, 'PENDING' FROM claimed
    )
    SELECT id, attempt FROM claimed`;
}

/** Moves every run this worker holds at the given attempt in one statement; returns how many moved. */
export async function rawSetStates(
  sql: postgres.Sql,
  input: { runs: readonly { id: string; attempt: number }[]; workerId: string; state: 'RUNNING' | 'COMPLETED' },
): Promise<number> {
  const rows = await sql`
    WITH moved AS (
      UPDATE bench_runs r SET state = ${input.state}, updated_at = now()
      FROM unnest(${sql.array(input.runs.map((run) => run.id))}::uuid[], ${sql.array(input.runs.map((run) => run.attempt))}::int[])
        AS t(id, attempt)
      WHERE r.id = t.id AND r.attempt = t.attempt AND r.worker_id = ${input.workerId}
      RETURNING r.id, r.attempt
    )
    INSERT INTO bench_run_states (run_id, attempt, type) SELECT id, attempt, ${input.state} FROM moved RETURNING run_id`;
  return rows.length;
}

/** Every run's lines in one multi-row INSERT. */
export async function rawInsertManyLogs(
  sql: postgres.Sql,
  runs: readonly { id: string; attempt: number }[],
  lines: readonly RawLogLine[],
): Promise<number> {
  const rows = runs.flatMap((run) => lines.map((l) => ({ run_id: run.id, attempt: run.attempt, ...l })));
  const result = await sql`INSERT INTO bench_logs ${sql(rows)} ON CONFLICT DO NOTHING`;
  return result.count;
}
