import type { Workspace } from '@outpost/sdk/contracts';
import type { Db } from './client.js';
import { iso } from './values.js';

function toWorkspace(row: { id: string; slug: string; name: string; created_at: Date }): Workspace {
  return { id: row.id, slug: row.slug, name: row.name, createdAt: iso(row.created_at) };
}

export async function getWorkspace(db: Db, id: string): Promise<Workspace | null> {
  const [row] = await db<{ id: string; slug: string; name: string; created_at: Date }[]>`
    SELECT id, slug, name, created_at FROM workspaces WHERE id = ${id}`;
  return row ? toWorkspace(row) : null;
}

/** The workspace with this slug, created when missing. */
export async function ensureWorkspace(db: Db, slug: string, name: string): Promise<Workspace> {
  await db`INSERT INTO workspaces (slug, name) VALUES (${slug}, ${name}) ON CONFLICT (slug) DO NOTHING`;
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

/** Inserts a workspace an account created; null when the slug is taken. */
export async function insertWorkspace(
  db: Db,
  input: { slug: string; name: string; createdBy: string },
): Promise<Workspace | null> {
  const [row] = await db<{ id: string; slug: string; name: string; created_at: Date }[]>`
    INSERT INTO workspaces (slug, name, created_by) VALUES (${input.slug}, ${input.name}, ${input.createdBy})
    ON CONFLICT (slug) DO NOTHING
    RETURNING id, slug, name, created_at`;
  return row ? toWorkspace(row) : null;
}

/** How many workspaces the account created through the API. */
export async function countWorkspacesCreatedBy(db: Db, userId: string): Promise<number> {
  const [row] = await db<{ n: number }[]>`SELECT count(*)::int AS n FROM workspaces WHERE created_by = ${userId}`;
  return row?.n ?? 0;
}
