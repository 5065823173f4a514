import type { JsonWebKey } from 'node:crypto';
import { generateSigningKey, type SigningKeyRecord } from '../auth/run-token.js';
import type { Sql } from './client.js';

/** Retired keys verify for this long after retirement: longer than any run token lives. */
const RETIRED_KEY_GRACE = '1 day';

/**
 * The keys run tokens are signed and verified with; creates one when none is active. Replicas that
 * start together serialise on an advisory lock, so they agree on a single new key.
 * Signing keys are server-wide (not per workspace): the workspace is a claim inside the token.
 */
export async function loadSigningKeys(sql: Sql): Promise<SigningKeyRecord[]> {
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('outpost.signing-keys'))`;
    const [active] = await tx<{ n: number }[]>`SELECT count(*)::int AS n FROM signing_keys WHERE retired_at IS NULL`;
    if (!active?.n) {
      const key = await generateSigningKey();
      await tx`
        INSERT INTO signing_keys (kid, private_jwk, public_jwk, created_at)
        VALUES (${key.kid}, ${tx.json(key.privateJwk as never)}, ${tx.json(key.publicJwk as never)}, ${key.createdAt})`;
    }
    const rows = await tx<
      {
        kid: string;
        private_jwk: JsonWebKey;
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
      privateJwk: r.private_jwk,
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
  options: { publishSeconds?: number } = {},
): Promise<{ kid: string; activatesAt: Date; retired: string[] }> {
  const publishSeconds = options.publishSeconds ?? DEFAULT_PUBLISH_SECONDS;
  if (!Number.isFinite(publishSeconds) || publishSeconds < 0) throw new Error('publishSeconds must be a number ≥ 0');
  const key = await generateSigningKey();
  return sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(hashtext('outpost.signing-keys'))`;
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
      VALUES (${key.kid}, ${tx.json(key.privateJwk as never)}, ${tx.json(key.publicJwk as never)}, now(),
              now() + make_interval(secs => ${publishSeconds}))
      RETURNING activates_at`;
    if (!row) throw new Error('insert returned no row');
    return { kid: key.kid, activatesAt: row.activates_at, retired: retired.map((r) => r.kid) };
  });
}
