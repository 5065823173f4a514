import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunTokens } from '../src/auth/run-tokens.js';
import { rotateSigningKey } from '../src/auth/signing-keys.js';
import { connectDatabase, type Sql } from '../src/db/client.js';
import { SecretBox } from '../src/db/secret-box.js';
import { startServer } from '../src/server.js';
import { isStartupError } from '../src/startup-error.js';
import { createTestDatabase, type TestDatabase } from '../src/testing/index.js';

const KEY = 'a-server-key-of-at-least-thirty-two-characters';
const OTHER = 'another-server-key-of-thirty-two-characters!!';
const CLAIMS = { runId: '00000000-0000-4000-8000-000000000001', attempt: 1, workspaceId: '00000000-0000-4000-8000-000000000002' };

describe('run-token signing keys at rest', () => {
  let database: TestDatabase;
  let sql: Sql;

  beforeAll(async () => {
    database = await createTestDatabase();
    sql = await connectDatabase(database.url, { max: 2 });
  });
  afterAll(async () => {
    await sql?.end({ timeout: 5 });
    await database?.drop();
  });

  const stored = () =>
    sql<{ kid: string; sealed: boolean; has_d: boolean; text: string }[]>`
      SELECT kid, private_jwk ? 'sealed' AS sealed, private_jwk ? 'd' AS has_d, private_jwk::text AS text FROM signing_keys ORDER BY created_at`;

  it('seals the private keys of a server that had none sealed, and tokens signed before still verify', async () => {
    const plain = await RunTokens.load(sql);
    const before = await plain.sign(CLAIMS);
    expect((await stored()).every((k) => k.has_d && !k.sealed)).toBe(true);

    const sealed = await RunTokens.load(sql, { secretBox: new SecretBox(KEY) });
    const rows = await stored();
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row).toMatchObject({ sealed: true, has_d: false });
      // Nothing of the private key is left readable: only the public parameters live elsewhere.
      expect(row.text).not.toMatch(/"d"/);
    }
    expect(await sealed.verify(before)).toMatchObject(CLAIMS);
    expect(await sealed.verify(await sealed.sign(CLAIMS))).toMatchObject(CLAIMS);
  });

  it('refuses to start, in one line, without the secret key or with another one', async () => {
    for (const secretKey of [undefined, OTHER]) {
      const error = await startServer({ databaseUrl: database.url, port: 0, loops: false, logLevel: 'silent', secretKey }).then(
        (server) => server.close().then(() => null),
        (e: unknown) => e,
      );
      expect(isStartupError(error)).toBe(true);
      if (!isStartupError(error)) return;
      expect(error.line()).toMatch(
        secretKey
          ? /does not open with this OUTPOST_SECRET_KEY — set OUTPOST_SECRET_KEY/
          : /are sealed, and OUTPOST_SECRET_KEY is not set/,
      );
    }
  });

  it('seals the key a rotation adds, which then signs, and refuses to rotate without the secret key', async () => {
    const tokens = await RunTokens.load(sql, { secretBox: new SecretBox(KEY) });
    const { kid } = await rotateSigningKey(sql, { publishSeconds: 0, secretBox: new SecretBox(KEY) });
    expect((await stored()).find((k) => k.kid === kid)).toMatchObject({ sealed: true, has_d: false });
    await tokens.refresh();
    const token = await tokens.sign(CLAIMS);
    const header = JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string };
    expect(header.kid).toBe(kid);
    expect(await tokens.verify(token)).toMatchObject(CLAIMS);
    const refused = await rotateSigningKey(sql, { publishSeconds: 0 }).catch((e: unknown) => e);
    expect(isStartupError(refused) && refused.line()).toMatch(/are sealed, and OUTPOST_SECRET_KEY is not set/);
  });
});
