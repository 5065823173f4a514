import { createTestDatabase, type TestDatabase } from '@outpost/api/testing';
import postgres from 'postgres';

/**
 * An empty database of its own (no schema, no migrations), as a new installation starts from: on
 * TEST_DATABASE_URL's server when set, else on the embedded Postgres. `drop()` removes it.
 */
export async function emptyDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  const sql = postgres(db.url, { max: 1, onnotice: () => {} });
  try {
    await sql.unsafe('DROP SCHEMA public CASCADE; DROP SCHEMA IF EXISTS drizzle CASCADE; CREATE SCHEMA public');
  } finally {
    await sql.end({ timeout: 5 });
  }
  return db;
}
