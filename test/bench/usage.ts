import { randomUUID } from 'node:crypto';
import { createOrganisationToken, startTestServer } from '@outpost/api/testing';
import type postgres from 'postgres';
import { growWorkspaces, organisationOfWorkspace } from './support/directory-setup.js';
import { type Row, row } from './support/row.js';

/**
 * What counting usage costs. Writes: log lines and events inserted as the API inserts them (1,000
 * lines a statement, and one event a statement, the worst case: one delta row per statement), by 4
 * concurrent writers in one workspace and in four, against the same inserts with the usage
 * triggers switched off. Reads: the organisation's usage of 100 workspaces over 24 months, with
 * 10,000 deltas not yet folded, against the same read once they are folded.
 */
export const timeoutSeconds = 300;

export const notes = `### usage: counting usage on the write path, and reading an organisation's months
Writes: ${'`'}logs${'`'} inserts of 1,000 lines a statement and ${'`'}events${'`'} inserts of one row a statement, by 4 concurrent writers
each committing every statement; the baseline is the same inserts with the usage triggers switched off, same run. Each
counted statement appends one row per workspace to usage_deltas; nothing is updated in place, so writers of one
workspace do not wait on each other. Reads: GET /organisations/:org/usage for 100 workspaces × 24 months (2,400
items) with 10,000 deltas pending, against the same answer after the retention pass folded them.`;

const WRITERS = 4;
const LOG_STATEMENTS = Number(process.env.BENCH_USAGE_LOG_STATEMENTS ?? 200);
const EVENT_STATEMENTS = Number(process.env.BENCH_USAGE_EVENT_STATEMENTS ?? 4_000);
const WORKSPACES = 100;
const MONTHS = 24;
const PENDING = 10_000;
const READS = 20;

const TRIGGERS = [
  ['logs', 'logs_usage'],
  ['events', 'events_usage'],
] as const;

async function usageTriggers(sql: postgres.Sql, on: boolean): Promise<void> {
  for (const [table, trigger] of TRIGGERS) {
    if (on) await sql`ALTER TABLE ${sql(table)} ENABLE TRIGGER ${sql(trigger)}`;
    else await sql`ALTER TABLE ${sql(table)} DISABLE TRIGGER ${sql(trigger)}`;
  }
}

/** Rows per second written by WRITERS concurrent writers running `statements` statements in all. */
async function writeRate(
  statements: number,
  rowsPerStatement: number,
  write: (writer: number, statement: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: WRITERS }, async (_, writer) => {
      while (next < statements) {
        next += 1;
        await write(writer, next);
      }
    }),
  );
  return (statements * rowsPerStatement) / ((performance.now() - started) / 1000);
}

export async function run(): Promise<Row[]> {
  const server = await startTestServer({ loops: false });
  const sql = server.sql;
  try {
    const org = await organisationOfWorkspace(server, server.workspaceId);
    const workspaces = await growWorkspaces(server, org, 'bench', WORKSPACES - 1);
    const oneWorkspace = () => workspaces[1] as string;
    const ownWorkspace = (writer: number) => workspaces[1 + writer] as string;
    const message = 'epoch 12 step 1200: loss=0.454545 lr=0.001 batch=1000 elapsed=3600ms shard=0 ';

    const logs = (workspaceOf: (writer: number) => string) => (writer: number, statement: number) => {
      const run = randomUUID();
      return sql`
        INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, stream)
        SELECT ${run}, 1, n, ${workspaceOf(writer)}, now(), 'info', ${message} || n || ' ' || ${statement}, 'flow'
        FROM generate_series(1, 1000) n`;
    };
    const events = (workspaceOf: (writer: number) => string) => (writer: number, statement: number) =>
      sql`
      INSERT INTO events (workspace_id, kind, resource_kind, resource_id, payload, source, source_id)
      VALUES (${workspaceOf(writer)}, 'bench.metrics', 'api-key', 'bench', ${sql.json({ step: statement })}, 'api', 'bench')`;

    // Baselines first, with the counting triggers off (nothing else writes meanwhile).
    await usageTriggers(sql, false);
    let plain: number[];
    try {
      plain = [
        await writeRate(LOG_STATEMENTS, 1000, logs(oneWorkspace)),
        await writeRate(LOG_STATEMENTS, 1000, logs(ownWorkspace)),
        await writeRate(EVENT_STATEMENTS, 1, events(oneWorkspace)),
        await writeRate(EVENT_STATEMENTS, 1, events(ownWorkspace)),
      ];
    } finally {
      await usageTriggers(sql, true);
    }
    const counted = [
      await writeRate(LOG_STATEMENTS, 1000, logs(oneWorkspace)),
      await writeRate(LOG_STATEMENTS, 1000, logs(ownWorkspace)),
      await writeRate(EVENT_STATEMENTS, 1, events(oneWorkspace)),
      await writeRate(EVENT_STATEMENTS, 1, events(ownWorkspace)),
    ];

    // Reads: 24 months of every workspace, folded, then 10,000 deltas spread over them pending.
    await sql`DELETE FROM usage_deltas`;
    await sql`
      INSERT INTO workspace_usage (workspace_id, month, runs, task_runs, compute_seconds, log_lines, log_bytes, events, metadata_bytes)
      SELECT w, (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => m))::date,
             100 + m, 10000 + m, 3600.5, 50000, 5000000, 2000, 9000000
      FROM unnest(${sql.array(workspaces)}::uuid[]) w, generate_series(0, ${MONTHS - 1}) m
      ON CONFLICT (workspace_id, month) DO NOTHING`;
    const token = await createOrganisationToken(sql, server.workspaceId, 'bench', ['usage:read']);
    const to = new Date().toISOString().slice(0, 7);
    const fromDate = new Date();
    fromDate.setUTCDate(1);
    fromDate.setUTCMonth(fromDate.getUTCMonth() - (MONTHS - 1));
    const url = `${server.url}/api/v1/organisations/${org.slug}/usage?from=${fromDate.toISOString().slice(0, 7)}&to=${to}`;
    const readTime = async (): Promise<number> => {
      const started = performance.now();
      for (let i = 0; i < READS; i++) {
        const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
        if (res.status !== 200) throw new Error(`usage answered ${res.status}: ${await res.text()}`);
        const items = ((await res.json()) as { items: unknown[] }).items;
        if (items.length !== WORKSPACES * MONTHS) throw new Error(`usage held ${items.length} items`);
      }
      return (performance.now() - started) / READS;
    };
    const folded = await readTime();
    await sql`
      INSERT INTO usage_deltas (workspace_id, month, runs, log_lines, log_bytes, metadata_bytes)
      SELECT (${sql.array(workspaces)}::uuid[])[1 + n % ${WORKSPACES}], date_trunc('month', now() AT TIME ZONE 'UTC')::date, 1, 10, 1000, 2000
      FROM generate_series(1, ${PENDING}) n`;
    const pending = await readTime();

    const writeNote = 'the same inserts with the usage triggers off, same run';
    return [
      row(
        'log lines, 1,000 a statement, 4 writers in one workspace (counted)',
        counted[0] as number,
        'lines/s',
        plain[0] as number,
        writeNote,
      ),
      row(
        'log lines, 1,000 a statement, 4 writers in 4 workspaces (counted)',
        counted[1] as number,
        'lines/s',
        plain[1] as number,
        writeNote,
      ),
      row(
        'events, one a statement, 4 writers in one workspace (counted)',
        counted[2] as number,
        'events/s',
        plain[2] as number,
        writeNote,
      ),
      row(
        'events, one a statement, 4 writers in 4 workspaces (counted)',
        counted[3] as number,
        'events/s',
        plain[3] as number,
        writeNote,
      ),
      row(
        `organisation usage, ${WORKSPACES} workspaces × ${MONTHS} months, ${PENDING.toLocaleString('en')} deltas pending`,
        pending,
        'ms/read',
        folded,
        'the same read with every delta folded, same run',
      ),
    ];
  } finally {
    await server.close();
  }
}
