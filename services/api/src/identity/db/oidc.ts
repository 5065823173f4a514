import type { Db } from '../../db/client.js';
import type { oidcProviders, Row } from '../../db/schema.js';

export type OidcProviderRecord = Pick<
  typeof oidcProviders.$inferSelect,
  'workspaceId' | 'issuer' | 'clientId' | 'clientSecretEncrypted' | 'defaultRole' | 'allowedDomains' | 'updatedAt'
>;

type ProviderRow = Pick<
  Row<typeof oidcProviders>,
  'workspace_id' | 'issuer' | 'client_id' | 'client_secret_encrypted' | 'default_role' | 'allowed_domains' | 'updated_at'
>;

function toProvider(row: ProviderRow): OidcProviderRecord {
  return {
    workspaceId: row.workspace_id,
    issuer: row.issuer,
    clientId: row.client_id,
    clientSecretEncrypted: row.client_secret_encrypted,
    defaultRole: row.default_role,
    allowedDomains: row.allowed_domains,
    updatedAt: row.updated_at,
  };
}

export async function getOidcProvider(db: Db, workspaceId: string): Promise<OidcProviderRecord | null> {
  const [row] = await db<ProviderRow[]>`SELECT * FROM oidc_providers WHERE workspace_id = ${workspaceId}`;
  return row ? toProvider(row) : null;
}

export async function upsertOidcProvider(db: Db, p: Omit<OidcProviderRecord, 'updatedAt'>): Promise<OidcProviderRecord> {
  const [row] = await db<ProviderRow[]>`
    INSERT INTO oidc_providers (workspace_id, issuer, client_id, client_secret_encrypted, default_role, allowed_domains)
    VALUES (${p.workspaceId}, ${p.issuer}, ${p.clientId}, ${p.clientSecretEncrypted}, ${p.defaultRole},
            ${db.array(p.allowedDomains)}::text[])
    ON CONFLICT (workspace_id) DO UPDATE SET
      issuer = excluded.issuer, client_id = excluded.client_id, client_secret_encrypted = excluded.client_secret_encrypted,
      default_role = excluded.default_role, allowed_domains = excluded.allowed_domains, updated_at = now()
    RETURNING *`;
  if (!row) throw new Error('upsert returned no row');
  return toProvider(row);
}

export async function deleteOidcProvider(db: Db, workspaceId: string): Promise<boolean> {
  const rows = await db`DELETE FROM oidc_providers WHERE workspace_id = ${workspaceId} RETURNING workspace_id`;
  return rows.length > 0;
}

// ---- sign-ins under way ----------------------------------------------------------------------------

export interface OidcLogin {
  /** A workspace's sign-in: its workspace. The organisation's: the workspace asked for, or null. */
  workspaceId: string | null;
  /** Set for a sign-in with the organisation's provider. */
  organisationId: string | null;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

/** Records a sign-in under way; the retention loop deletes the ones never finished (identity/db/sign-in-retention.ts). */
export async function insertOidcLogin(db: Db, input: OidcLogin & { stateHash: string; ttlSeconds: number }): Promise<void> {
  await db`
    INSERT INTO oidc_logins (state_hash, workspace_id, organisation_id, nonce, code_verifier, return_to, expires_at)
    VALUES (${input.stateHash}, ${input.workspaceId}, ${input.organisationId}, ${input.nonce}, ${input.codeVerifier},
            ${input.returnTo}, now() + make_interval(secs => ${input.ttlSeconds}))`;
}

/** Takes the sign-in with this state out of the table: a state is good for one callback, within its time. */
export async function consumeOidcLogin(db: Db, stateHash: string): Promise<OidcLogin | null> {
  const [row] = await db<
    {
      workspace_id: string | null;
      organisation_id: string | null;
      nonce: string;
      code_verifier: string;
      return_to: string;
      live: boolean;
    }[]
  >`
    DELETE FROM oidc_logins WHERE state_hash = ${stateHash}
    RETURNING workspace_id, organisation_id, nonce, code_verifier, return_to, expires_at > now() AS live`;
  if (!row?.live) return null;
  return {
    workspaceId: row.workspace_id,
    organisationId: row.organisation_id,
    nonce: row.nonce,
    codeVerifier: row.code_verifier,
    returnTo: row.return_to,
  };
}
