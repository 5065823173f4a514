import type { Workspace } from '@outpost/sdk/contracts';
import { countRows, type Db } from '../../db/client.js';
import { iso } from '../../db/values.js';

function toWorkspace(row: { id: string; slug: string; name: string; created_at: Date }): Workspace {
  return { id: row.id, slug: row.slug, name: row.name, createdAt: iso(row.created_at) };
}

export async function getWorkspace(db: Db, id: string): Promise<Workspace | null> {
  const [row] = await db<{ id: string; slug: string; name: string; created_at: Date }[]>`
    SELECT id, slug, name, created_at FROM workspaces WHERE id = ${id}`;
  return row ? toWorkspace(row) : null;
}

/**
 * The workspace with this slug, created when missing in an organisation of its own with the same slug
 * and name (the bootstrap's `default`, an operator's, a test's).
 */
export async function ensureWorkspace(db: Db, slug: string, name: string): Promise<Workspace> {
  await db`
    WITH organisation AS (
      INSERT INTO organisations (slug, name) SELECT ${slug}, ${name}
      WHERE NOT EXISTS (SELECT 1 FROM workspaces WHERE slug = ${slug})
      ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug
      RETURNING id
    )
    INSERT INTO workspaces (organisation_id, slug, name) SELECT id, ${slug}, ${name} FROM organisation
    ON CONFLICT (slug) DO NOTHING`;
  const [row] = await db<{ id: string; slug: string; name: string; created_at: Date }[]>`
    SELECT id, slug, name, created_at FROM workspaces WHERE slug = ${slug}`;
  if (!row) throw new Error(`workspace ${slug} vanished after it was created`);
  return toWorkspace(row);
}

export async function getWorkspaceBySlug(db: Db, slug: string): Promise<Workspace | null> {
  const [row] = await db<{ id: string; slug: string; name: string; created_at: Date }[]>`
    SELECT id, slug, name, created_at FROM workspaces WHERE slug = ${slug}`;
  return row ? toWorkspace(row) : null;
}

/**
 * Inserts a workspace an account created, in a new organisation of the same slug and name; null
 * when the slug is taken. Organisation slugs come from their first workspace's, so a free workspace
 * slug is a free organisation slug.
 */
export async function insertWorkspace(
  db: Db,
  input: { slug: string; name: string; createdBy: string },
): Promise<Workspace | null> {
  if (await getWorkspaceBySlug(db, input.slug)) return null;
  const [organisation] = await db<{ id: string }[]>`
    INSERT INTO organisations (slug, name, created_by) VALUES (${input.slug}, ${input.name}, ${input.createdBy})
    ON CONFLICT (slug) DO NOTHING
    RETURNING id`;
  if (!organisation) return null;
  const [row] = await db<{ id: string; slug: string; name: string; created_at: Date }[]>`
    INSERT INTO workspaces (organisation_id, slug, name, created_by)
    VALUES (${organisation.id}, ${input.slug}, ${input.name}, ${input.createdBy})
    ON CONFLICT (slug) DO NOTHING
    RETURNING id, slug, name, created_at`;
  return row ? toWorkspace(row) : null;
}

/**
 * How many workspaces the account created through the API in organisations people made for
 * themselves (`POST /workspaces`); those it created as an admin of another organisation count
 * against that organisation's WORKSPACES_PER_ORGANISATION instead.
 */
export async function countWorkspacesCreatedBy(db: Db, userId: string): Promise<number> {
  return countRows(
    db,
    db`workspaces w JOIN organisations o ON o.id = w.organisation_id WHERE w.created_by = ${userId} AND o.created_by IS NOT NULL`,
  );
}

/** The workspace with its organisation and whether it is archived: what a caller is told of where it acts. */
export async function getWorkspacePlace(
  db: Db,
  id: string,
): Promise<{ workspace: Workspace; organisation: { id: string; slug: string; name: string }; archived: boolean } | null> {
  const [row] = await db<
    {
      id: string;
      slug: string;
      name: string;
      created_at: Date;
      archived: boolean;
      org_id: string;
      org_slug: string;
      org_name: string;
    }[]
  >`
    SELECT w.id, w.slug, w.name, w.created_at, w.archived_at IS NOT NULL AS archived,
           o.id AS org_id, o.slug AS org_slug, o.name AS org_name
    FROM workspaces w JOIN organisations o ON o.id = w.organisation_id
    WHERE w.id = ${id}`;
  return row
    ? {
        workspace: toWorkspace(row),
        organisation: { id: row.org_id, slug: row.org_slug, name: row.org_name },
        archived: row.archived,
      }
    : null;
}

export async function isWorkspaceArchived(db: Db, id: string): Promise<boolean> {
  const [row] = await db<{ archived: boolean }[]>`SELECT archived_at IS NOT NULL AS archived FROM workspaces WHERE id = ${id}`;
  return row?.archived ?? false;
}
