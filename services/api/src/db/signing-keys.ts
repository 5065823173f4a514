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
      { kid: string; private_jwk: JsonWebKey; public_jwk: JsonWebKey; created_at: Date; retired_at: Date | null }[]
    >`
      SELECT kid, private_jwk, public_jwk, created_at, retired_at FROM signing_keys
      WHERE retired_at IS NULL OR retired_at > now() - ${RETIRED_KEY_GRACE}::interval
      ORDER BY created_at`;
    return rows.map((r) => ({
      kid: r.kid,
      privateJwk: r.private_jwk,
      publicJwk: r.public_jwk,
      createdAt: r.created_at,
      retiredAt: r.retired_at,
    }));
  });
}
