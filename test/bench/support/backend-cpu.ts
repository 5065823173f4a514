import { readFileSync } from 'node:fs';
import postgres from 'postgres';
import { type Row, row } from './row.js';

/**
 * CPU time of the Postgres server processes (backends) that serve one application's connections to
 * one database, read from `/proc/<pid>/schedstat` (nanoseconds on a CPU) of the pids
 * `pg_stat_activity` names: what a phase of a benchmark cost the database server's CPU, apart from
 * the benchmark's client, the API process and other databases of a shared server. Postgres' own
 * background processes (WAL writer, checkpointer, autovacuum) are not counted.
 *
 * `read()` answers the CPU milliseconds of every backend seen so far (a backend that ends keeps what
 * it used up to the last read), so a phase's cost is the difference of two reads. Null when the
 * server's processes are not visible from here (Postgres on another machine or in a container).
 */
export class BackendCpu {
  readonly #sql: postgres.Sql;
  readonly #seen = new Map<number, number>();
  #visible: boolean | null = null;

  constructor(
    url: string,
    private readonly application: string,
  ) {
    this.#sql = postgres(url, { max: 1, onnotice: () => {}, connection: { application_name: 'outpost-bench-cpu' } });
  }

  async read(): Promise<number | null> {
    if (this.#visible === false) return null;
    const pids = await this.#sql<{ pid: number }[]>`
      SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = ${this.application}`;
    let readable = 0;
    for (const { pid } of pids) {
      const ns = schedstat(pid);
      if (ns === null) continue;
      readable++;
      this.#seen.set(pid, Math.max(this.#seen.get(pid) ?? 0, ns));
    }
    // Decided on the first read that names a backend: none of them readable means none will be.
    if (this.#visible === null && pids.length > 0) this.#visible = readable > 0;
    if (this.#visible === false) return null;
    let total = 0;
    for (const ns of this.#seen.values()) total += ns;
    return total / 1e6;
  }

  close(): Promise<void> {
    return this.#sql.end({ timeout: 5 });
  }
}

/**
 * A baseline's own postgres.js pool of `max` connections to `url`, under the application name
 * `outpost-bench-raw` (apart from the API's `outpost-api`), and the meter of the CPU its backends
 * spend; `close()` ends both.
 */
export function rawBaseline(url: string, max: number): { sql: postgres.Sql; cpu: BackendCpu; close(): Promise<void> } {
  const application = 'outpost-bench-raw';
  const sql = postgres(url, { max, onnotice: () => {}, connection: { application_name: application } });
  const cpu = new BackendCpu(url, application);
  return {
    sql,
    cpu,
    close: async () => {
      await cpu.close();
      await sql.end({ timeout: 5 });
    },
  };
}

/** A Postgres process's time on a CPU in nanoseconds; null when it is not a visible Postgres process. */
function schedstat(pid: number): number | null {
  try {
    if (!readFileSync(`/proc/${pid}/comm`, 'utf8').startsWith('postgres')) return null;
    return Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[0]);
  } catch {
    return null;
  }
}

/** Runs `phase` and answers its result with the CPU milliseconds `cpu`'s backends spent meanwhile (null when not visible). */
export async function withBackendCpu<T>(cpu: BackendCpu, phase: () => Promise<T>): Promise<{ result: T; cpuMs: number | null }> {
  const before = await cpu.read();
  const result = await phase();
  const after = await cpu.read();
  return { result, cpuMs: before === null || after === null ? null : after - before };
}

/**
 * The row of backend CPU per unit of work, measured against its baseline (`scale` units of the
 * unit: 1,000 for µs per item from ms, say); null when either side has no CPU reading.
 */
export function backendCpuRow(
  label: string,
  unit: string,
  scale: number,
  measured: { cpuMs: number | null; result: { stored: number } },
  baseline: { cpuMs: number | null; result: { stored: number } },
  note: string,
): Row | null {
  if (measured.cpuMs === null || baseline.cpuMs === null) return null;
  return row(
    `${label}: Postgres backend CPU`,
    (measured.cpuMs / measured.result.stored) * scale,
    unit,
    (baseline.cpuMs / baseline.result.stored) * scale,
    `${note} (CPU of the backends serving each, from /proc)`,
  );
}
