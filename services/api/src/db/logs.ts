import type { LogLevel, LogLine } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { iso } from './values.js';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error', 'critical'];

export interface LogLineRow {
  seq: number;
  timestamp: string;
  level: LogLevel;
  message: string;
  taskRunId: string | null;
  stream: string;
}

/**
 * Stores a batch in one multi-row INSERT. The lines travel as one jsonb parameter expanded by
 * `jsonb_to_recordset`: a statement holds at most 65,535 parameters (a 1,000-line batch would need
 * 6,000 as VALUES), and JSON needs none of the quoting that text arrays get wrong for lines such as
 * `NULL` or `{…}`. `ON CONFLICT DO NOTHING` on (flow_run_id, attempt, seq) makes a redelivered batch
 * store nothing twice, and the row count tells accepted lines from duplicates. A line keeps its task
 * run only if that is a task run of this flow run: an id of another run or workspace, or one never
 * recorded, is dropped alike (the line itself is kept), so nothing is ever attached across tenants.
 */
export async function insertLogs(
  db: Db,
  input: { workspaceId: string; runId: string; attempt: number; lines: LogLineRow[] },
): Promise<{ accepted: number }> {
  const result = await db`
    INSERT INTO logs (flow_run_id, attempt, seq, workspace_id, timestamp, level, message, task_run_id, stream)
    SELECT ${input.runId}::uuid, ${input.attempt}::int, l.seq, ${input.workspaceId}::uuid, l.timestamp, l.level, l.message, t.id, l.stream
    FROM jsonb_to_recordset(${db.json(input.lines.map((l) => ({ seq: l.seq, timestamp: l.timestamp, level: l.level, message: l.message, task_run_id: l.taskRunId, stream: l.stream })))}::jsonb)
      AS l(seq int, timestamp timestamptz, level text, message text, task_run_id uuid, stream text)
    LEFT JOIN task_runs t ON t.id = l.task_run_id AND t.flow_run_id = ${input.runId}::uuid AND t.workspace_id = ${input.workspaceId}::uuid
    ON CONFLICT (flow_run_id, attempt, seq) DO NOTHING`;
  return { accepted: result.count };
}

/** Lines after `after` in (attempt, seq) order: the primary key serves the read, however long the run's log is. */
export async function readLogs(
  db: Db,
  input: {
    workspaceId: string;
    runId: string;
    after: { attempt: number; seq: number } | null;
    minLevel: LogLevel | null;
    limit: number;
  },
): Promise<LogLine[]> {
  const levels = input.minLevel ? LOG_LEVELS.slice(LOG_LEVELS.indexOf(input.minLevel)) : null;
  const rows = await db<
    {
      attempt: number;
      seq: number;
      timestamp: Date;
      level: LogLevel;
      message: string;
      task_run_id: string | null;
      stream: string;
    }[]
  >`
    SELECT attempt, seq, timestamp, level, message, task_run_id, stream FROM logs
    WHERE flow_run_id = ${input.runId} AND workspace_id = ${input.workspaceId}
      ${input.after ? db`AND (attempt, seq) > (${input.after.attempt}::int, ${input.after.seq}::int)` : db``}
      ${levels ? db`AND level = ANY(${db.array([...levels])}::text[])` : db``}
    ORDER BY attempt, seq
    LIMIT ${input.limit}`;
  return rows.map((r) => ({
    attempt: r.attempt,
    seq: r.seq,
    timestamp: iso(r.timestamp),
    level: r.level,
    message: r.message,
    taskRunId: r.task_run_id,
    stream: r.stream,
  }));
}
