import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import type { Db } from './client.js';

/** The committed SQL migrations (copied next to the compiled code by the build). */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations', import.meta.url));

/**
 * Applies pending migrations. Replicas starting together serialise on a session advisory lock held
 * by a one-connection pool of its own, so only one of them runs each migration; ending the pool
 * releases the lock even when a migration fails.
 */
export async function migrateDatabase(url: string, migrationsFolder: string = MIGRATIONS_DIR): Promise<void> {
  // No array parameters here, so no type fetch: see connectDatabase for why one per connection is avoided.
  const sql = postgres(url, {
    max: 1,
    onnotice: () => {},
    fetch_types: false,
    connection: { application_name: 'outpost-migrate' },
  });
  try {
    await sql`SELECT pg_advisory_lock(hashtext('outpost.migrate'))`;
    await migrate(drizzle({ client: sql }), { migrationsFolder });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

let expected: number | null = null;

/** True when every committed migration has been applied (for /readyz). */
export async function migrationsApplied(db: Db): Promise<boolean> {
  expected ??= readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR }).length;
  const [table] = await db<{ exists: boolean }[]>`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS exists`;
  if (!table?.exists) return false;
  const [row] = await db<{ applied: number }[]>`SELECT count(*)::int AS applied FROM drizzle.__drizzle_migrations`;
  return (row?.applied ?? 0) >= expected;
}
