import type { Artifact, ArtifactType } from '@outpost/sdk/contracts';
import type { Db } from '../../db/client.js';
import type { artifacts, Row } from '../../db/schema.js';
import { iso, jsonb } from '../../db/values.js';

type ArtifactRow = Pick<
  Row<typeof artifacts>,
  'id' | 'workspace_id' | 'flow_run_id' | 'task_run_id' | 'key' | 'type' | 'description' | 'data' | 'created_at' | 'updated_at'
>;

function toArtifact(row: ArtifactRow): Artifact {
  return {
    id: row.id,
    key: row.key,
    type: row.type,
    description: row.description,
    data: row.data as Artifact['data'],
    flowRunId: row.flow_run_id,
    taskRunId: row.task_run_id,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

export interface NewArtifact {
  id: string;
  workspaceId: string;
  flowRunId: string;
  taskRunId: string | null;
  key: string;
  type: ArtifactType;
  description: string | null;
  data: unknown;
}

type StoredRow = ArtifactRow & { inserted: boolean };
type Stored = { row: { workspaceId: string; flowRunId: string; artifact: Artifact }; created: boolean };

function stored(row: StoredRow): Stored {
  return { row: { workspaceId: row.workspace_id, flowRunId: row.flow_run_id, artifact: toArtifact(row) }, created: row.inserted };
}

async function byId(db: Db, id: string): Promise<Stored | null> {
  const [row] = await db<StoredRow[]>`SELECT *, false AS inserted FROM artifacts WHERE id = ${id}`;
  return row ? stored(row) : null;
}

/**
 * Stores an artifact. A progress artifact replaces the data of the run's earlier one with the same
 * key (the partial unique index on (flow_run_id, key) for progress rows); any other artifact is a
 * new row. A repeated id stores nothing and returns the row it names — possibly another run's,
 * which the caller must check before answering.
 */
export async function upsertArtifact(db: Db, a: NewArtifact): Promise<Stored | null> {
  const earlier = await byId(db, a.id);
  if (earlier) return earlier;
  const values = db`
    (${a.id}, ${a.workspaceId}, ${a.flowRunId}, ${a.taskRunId}, ${a.key}, ${a.type}, ${a.description},
     ${jsonb(db, a.data)}, now(), now())`;
  const columns = db`(id, workspace_id, flow_run_id, task_run_id, key, type, description, data, created_at, updated_at)`;
  try {
    const [row] =
      a.type === 'progress'
        ? await db<StoredRow[]>`
            INSERT INTO artifacts ${columns} VALUES ${values}
            ON CONFLICT (flow_run_id, key) WHERE type = 'progress' DO UPDATE SET
              data = excluded.data, description = coalesce(excluded.description, artifacts.description),
              task_run_id = coalesce(excluded.task_run_id, artifacts.task_run_id), updated_at = now(),
              version = nextval(pg_get_serial_sequence('artifacts', 'version'))
            RETURNING *, (xmax = 0) AS inserted`
        : await db<StoredRow[]>`
            INSERT INTO artifacts ${columns} VALUES ${values}
            ON CONFLICT (id) DO NOTHING
            RETURNING *, true AS inserted`;
    return row ? stored(row) : await byId(db, a.id);
  } catch (error) {
    // The same id inserted concurrently by a retry: answer with the row that won.
    if ((error as { code?: unknown }).code === '23505') return byId(db, a.id);
    throw error;
  }
}

export async function listRunArtifacts(db: Db, workspaceId: string, flowRunId: string): Promise<Artifact[]> {
  const rows = await db<ArtifactRow[]>`
    SELECT * FROM artifacts WHERE workspace_id = ${workspaceId} AND flow_run_id = ${flowRunId}
    ORDER BY created_at, id`;
  return rows.map(toArtifact);
}

/**
 * The most recently written artifact of each key (or of one key), newest first, by write order
 * (`version`). With a key this reads one entry of the (workspace_id, key, version) index backwards.
 */
export async function latestArtifacts(db: Db, workspaceId: string, key: string | null, limit: number): Promise<Artifact[]> {
  const rows =
    key === null
      ? await db<ArtifactRow[]>`
          SELECT * FROM (
            SELECT DISTINCT ON (key) * FROM artifacts WHERE workspace_id = ${workspaceId}
            ORDER BY key, version DESC
          ) latest
          ORDER BY version DESC
          LIMIT ${limit}`
      : await db<ArtifactRow[]>`
          SELECT * FROM artifacts WHERE workspace_id = ${workspaceId} AND key = ${key}
          ORDER BY version DESC
          LIMIT 1`;
  return rows.map(toArtifact);
}
