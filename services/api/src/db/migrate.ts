import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMigrationFiles } from 'drizzle-orm/migrator';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import postgres from 'postgres';
import { StartupError } from '../startup-error.js';
import { countRows, type Db } from './client.js';

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
    await refuseNewerDatabase(sql, migrationsFolder);
    await migrate(drizzle({ client: sql }), { migrationsFolder });
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Stops before anything runs when the database holds migrations newer than the newest this build
 * knows: a newer Outpost migrated it, and this one would run against a schema it does not know.
 */
async function refuseNewerDatabase(sql: postgres.Sql, migrationsFolder: string): Promise<void> {
  const [table] = await sql<{ exists: boolean }[]>`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS exists`;
  if (!table?.exists) return;
  const known = readMigrationFiles({ migrationsFolder });
  const newest = Math.max(0, ...known.map((m) => m.folderMillis));
  const unknown = await sql<{ created_at: string }[]>`
    SELECT created_at::text FROM drizzle.__drizzle_migrations WHERE created_at > ${newest} ORDER BY created_at`;
  if (unknown.length === 0) return;
  const journal = JSON.parse(readFileSync(join(migrationsFolder, 'meta/_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  };
  const last = journal.entries.at(-1)?.tag ?? 'none';
  const count = unknown.length === 1 ? 'a migration' : `${unknown.length} migrations`;
  const when = new Date(Number(unknown.at(-1)?.created_at)).toISOString().slice(0, 10);
  throw new StartupError(
    `this database was migrated by a newer Outpost (${count} dated up to ${when} unknown here; this Outpost knows migrations up to ${last})`,
    'start the Outpost version that migrated it or a newer one, or restore a backup taken before the upgrade (docs/upgrading.md)',
  );
}

let expected: number | null = null;

/** True when every committed migration has been applied (for /readyz). */
export async function migrationsApplied(db: Db): Promise<boolean> {
  expected ??= readMigrationFiles({ migrationsFolder: MIGRATIONS_DIR }).length;
  const [table] = await db<{ exists: boolean }[]>`SELECT to_regclass('drizzle.__drizzle_migrations') IS NOT NULL AS exists`;
  if (!table?.exists) return false;
  return (await countRows(db, db`drizzle.__drizzle_migrations`)) >= expected;
}
