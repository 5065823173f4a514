import type { JsonWebKey } from 'node:crypto';
import { countRows, type Db, type Sql } from '../db/client.js';
import type { SecretBox } from '../db/secret-box.js';
import { StartupError } from '../startup-error.js';
import { generateSigningKey, type SigningKeyRecord } from './run-token.js';

/**
 * A private key as stored: sealed with the server's SecretBox (OUTPOST_SECRET_KEY, kept outside the
 * database) whenever one is configured, so a copy of the database alone cannot mint run tokens; a
 * plain JWK only on servers without OUTPOST_SECRET_KEY. The sealed value is bound to its key id.
 */
type StoredPrivateKey = JsonWebKey | { sealed: string };

const sealContext = (kid: string) => `signing-key:${kid}`;

function isSealed(stored: StoredPrivateKey): stored is { sealed: string } {
  return typeof (stored as { sealed?: unknown }).sealed === 'string';
}

function storedForm(key: SigningKeyRecord, box: SecretBox | null): StoredPrivateKey {
  return box ? { sealed: box.seal(JSON.stringify(key.privateJwk), sealContext(key.kid)) } : key.privateJwk;
}

function openPrivateKey(kid: string, stored: StoredPrivateKey, box: SecretBox | null): JsonWebKey {
  if (!isSealed(stored)) return stored;
  if (!box) {
    throw new StartupError(
      'the run-token signing keys in the database are sealed, and OUTPOST_SECRET_KEY is not set',
      'set OUTPOST_SECRET_KEY to the key the other API servers use',
    );
  }
  const opened = box.open(stored.sealed, sealContext(kid));
  if (opened === null) {
    throw new StartupError(
      `the run-token signing key ${kid} does not open with this OUTPOST_SECRET_KEY`,
      'set OUTPOST_SECRET_KEY to the key the signing keys were sealed with',
    );
  }
  return JSON.parse(opened) as JsonWebKey;
}

/** Seals every private key still stored in the clear (rows from before OUTPOST_SECRET_KEY was set). */
async function sealPlainKeys(tx: Db, box: SecretBox): Promise<void> {
  const plain = await tx<{ kid: string; private_jwk: StoredPrivateKey }[]>`
    SELECT kid, private_jwk FROM signing_keys WHERE NOT (private_jwk ? 'sealed')`;
  for (const row of plain) {
    if (isSealed(row.private_jwk)) continue;
    const sealed = { sealed: box.seal(JSON.stringify(row.private_jwk), sealContext(row.kid)) };
    await tx`UPDATE signing_keys SET private_jwk = ${tx.json(sealed)} WHERE kid = ${row.kid}`;
  }
}

/** Retired keys verify for this long after retirement: longer than any run token lives. */
const RETIRED_KEY_GRACE = '1 day';

/**
 * The keys run tokens are signed and verified with; creates one when none is active. Replicas that
 * start together serialise on an advisory lock, so they agree on a single new key.
 * Signing keys are server-wide (not per workspace): the workspace is a claim inside the token.
 */
export async function loadSigningKeys(sql: Sql, box: SecretBox | null = null): Promise<SigningKeyRecord[]> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('outpost.signing-keys'))`;
    if (box) await sealPlainKeys(tx, box);
    if ((await countRows(tx, tx`signing_keys WHERE retired_at IS NULL`)) === 0) {
      const key = await generateSigningKey();
      await tx`
        INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at)
        VALUES (${key.kid}, ${tx.json(storedForm(key, box) as never)}, ${tx.json(key.publicJwk as never)}, ${key.createdAt})`;
    }
    const rows = await tx<
      {
        kid: string;
        private_jwk: StoredPrivateKey;
        public_jwk: JsonWebKey;
        created_at: Date;
        activates_at: Date | null;
        retired_at: Date | null;
      }[]
    >`
      SELECT kid, private_jwk, public_jwk, created_at, activates_at, retired_at FROM signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - ${RETIRED_KEY_GRACE}::interval
      ORDER BY created_at`;
    return rows.map((r) => ({
      kid: r.kid,
      privateJwk: openPrivateKey(r.kid, r.private_jwk, box),
      publicJwk: r.public_jwk,
      createdAt: r.created_at,
      activatesAt: r.activates_at,
      retiredAt: r.retired_at,
    }));
  });
}

/**
 * How long a new key is published before it signs: longer than a replica takes to reload its keys
 * (RunTokens refreshes every minute) and than verifiers cache a JWKS document (jose's remote JWKS
 * keeps one for 10 minutes), so every verifier knows the key before the first token it signs.
 */
export const DEFAULT_PUBLISH_SECONDS = 900;
/** A superseded key is retired once its successor has signed this long; every replica has switched by then. */
const SUPERSEDED_FOR = '1 hour';

/**
 * Rotates the run-token signing key without downtime: adds a key that signs from `publishSeconds`
 * from now (published in the JWKS at once), and retires keys a newer key has replaced for an hour.
 * Retired keys still verify for a day, far longer than any run token lives.
 */
export async function rotateSigningKey(
  sql: Sql,
  options: { publishSeconds?: number; secretBox?: SecretBox | null } = {},
): Promise<{ kid: string; activatesAt: Date; retired: string[] }> {
  const box = options.secretBox ?? null;
  const publishSeconds = options.publishSeconds ?? DEFAULT_PUBLISH_SECONDS;
  if (!Number.isFinite(publishSeconds) || publishSeconds < 0) throw new Error('publishSeconds must be a number ≥ 0');
  const key = await generateSigningKey();
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('outpost.signing-keys'))`;
    if (box) await sealPlainKeys(tx, box);
    else {
      // A plain key among sealed ones would hand a copy of the database what sealing kept from it.
      if ((await countRows(tx, tx`signing_keys WHERE private_jwk ? 'sealed'`)) > 0) {
        throw new StartupError(
          'the run-token signing keys in the database are sealed, and OUTPOST_SECRET_KEY is not set',
          'set OUTPOST_SECRET_KEY to the key the API servers use',
        );
      }
    }
    const retired = await tx<{ kid: string }[]>`
      UPDATE signing_keys s SET retired_at = now()
      WHERE s.retired_at IS NULL AND EXISTS (
        SELECT 1 FROM signing_keys n
        WHERE n.retired_at IS NULL
          AND coalesce(n.activates_at, n.created_at) <= now() - ${SUPERSEDED_FOR}::interval
          AND coalesce(n.activates_at, n.created_at) > coalesce(s.activates_at, s.created_at))
      RETURNING kid`;
    const [row] = await tx<{ activates_at: Date }[]>`
      INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at, activates_at)
      VALUES (${key.kid}, ${tx.json(storedForm(key, box) as never)}, ${tx.json(key.publicJwk as never)}, now(),
              now() + make_interval(secs => ${publishSeconds}))
      RETURNING activates_at`;
    if (!row) throw new Error('insert returned no row');
    return { kid: key.kid, activatesAt: row.activates_at, retired: retired.map((r) => r.kid) };
  });
}
