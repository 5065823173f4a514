import type postgres from 'postgres';
import { describe, expect, test } from 'vitest';
import { migrateDatabase } from '../src/db/migrate.js';
import { isStartupError } from '../src/startup-error.js';
import { useScratchDatabases } from './helpers.js';

const scratch = useScratchDatabases();

/** Records a migration as a newer Outpost would: dated after every migration this build knows. */
async function applyNewerMigration(sql: postgres.Sql): Promise<void> {
  const later = Date.now() + 365 * 86_400_000;
  await sql`INSERT INTO drizzle.__drizzle_migrations (hash, created_at) VALUES ('from-a-newer-outpost', ${later})`;
}

describe('a database migrated by a newer Outpost', () => {
  test('is refused in one line that says what to do, and nothing is migrated', async () => {
    const db = await scratch.make('0060_audit_event_kinds_kebab');
    const { sql } = db;
    await applyNewerMigration(sql);
    const before = await sql<{ count: number }[]>`SELECT count(*)::int AS count FROM drizzle.__drizzle_migrations`;

    const error = await migrateDatabase(db.url).then(
      () => null,
      (e: unknown) => e,
    );

    expect(isStartupError(error)).toBe(true);
    const line = isStartupError(error) ? error.line() : '';
    expect(line).not.toContain('\n');
    expect(line).toMatch(
      /^this database was migrated by a newer Outpost \(a migration dated up to \d{4}-\d\d-\d\d unknown here; this Outpost knows migrations up to 0060_audit_event_kinds_kebab\)/,
    );
    expect(line).toContain('start the Outpost version that migrated it or a newer one, or restore a backup');
    const after = await sql<{ count: number }[]>`SELECT count(*)::int AS count FROM drizzle.__drizzle_migrations`;
    expect(after).toEqual(before);
  });

  test('a database this Outpost migrated itself starts again without a complaint', async () => {
    const db = await scratch.make();
    await expect(migrateDatabase(db.url)).resolves.toBeUndefined();
    await expect(migrateDatabase(db.url)).resolves.toBeUndefined();
  });
});
