import { afterAll, beforeAll, expect, test } from 'vitest';
import { connectDatabase, type Sql } from '../src/db/client.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';

let db: TestDatabase;
let sql: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  sql = await connectDatabase(db.url);
});
afterAll(async () => {
  await sql?.end({ timeout: 5 });
  await db?.drop();
});

test("the API's connections plan without JIT compilation, whatever the server's default", async () => {
  // Every connection of the pool, not only the first: run more at once than one connection takes.
  const settings = await Promise.all(Array.from({ length: 6 }, () => sql.begin((tx) => tx<{ jit: string }[]>`SHOW jit`)));
  expect(settings.map(([row]) => row?.jit)).toEqual(Array(6).fill('off'));
});
