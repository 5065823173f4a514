import type { Db } from '../../db/client.js';

/** What one pruning pass deleted. */
export interface Pruned {
  sessions: number;
  signInTokens: number;
  passwordSetupTokens: number;
  emailTokens: number;
  oidcLogins: number;
}

/**
 * Deletes sign-in artefacts that can no longer be used: sessions expired or revoked, one-time
 * sign-in links, password setup tokens and emailed links expired (used or not), and single sign-on logins that
 * were never finished. Each is kept `graceSeconds` past its end, so a person who comes back with a
 * stale cookie or link a moment later still gets the answer for an expired one (which is the same
 * as for an unknown one). At most `limit` rows per kind per call.
 */
export async function pruneSignInArtefacts(db: Db, options: { graceSeconds: number; limit: number }): Promise<Pruned> {
  const before = db`now() - make_interval(secs => ${options.graceSeconds})`;
  const [row] = await db<
    { sessions: number; sign_in_tokens: number; setup_tokens: number; email_tokens: number; oidc_logins: number }[]
  >`
    WITH
      sessions_gone AS (
        DELETE FROM sessions WHERE id IN (
          SELECT id FROM sessions WHERE expires_at < ${before} OR revoked_at < ${before} LIMIT ${options.limit})
        RETURNING 1),
      links_gone AS (
        DELETE FROM sign_in_tokens WHERE id IN (
          SELECT id FROM sign_in_tokens WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1),
      setup_gone AS (
        DELETE FROM password_setup_tokens WHERE token_hash IN (
          SELECT token_hash FROM password_setup_tokens WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1),
      email_gone AS (
        DELETE FROM email_tokens WHERE token_hash IN (
          SELECT token_hash FROM email_tokens WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1),
      logins_gone AS (
        DELETE FROM oidc_logins WHERE state_hash IN (
          SELECT state_hash FROM oidc_logins WHERE expires_at < ${before} LIMIT ${options.limit})
        RETURNING 1)
    SELECT (SELECT count(*) FROM sessions_gone)::int AS sessions,
           (SELECT count(*) FROM links_gone)::int AS sign_in_tokens,
           (SELECT count(*) FROM setup_gone)::int AS setup_tokens,
           (SELECT count(*) FROM email_gone)::int AS email_tokens,
           (SELECT count(*) FROM logins_gone)::int AS oidc_logins`;
  return {
    sessions: row?.sessions ?? 0,
    signInTokens: row?.sign_in_tokens ?? 0,
    passwordSetupTokens: row?.setup_tokens ?? 0,
    emailTokens: row?.email_tokens ?? 0,
    oidcLogins: row?.oidc_logins ?? 0,
  };
}
