import type { OrganisationTokenScope } from '@outpost/sdk/contracts';
import type { Db } from '../db/client.js';
import { credentialRefused, DomainError, notFound } from '../domain-error.js';
import { parseOrganisationToken } from './api-key-format.js';
import { findOrganisationTokenByHash, touchOrganisationToken } from './db/organisation-tokens.js';

/** The caller of a route that takes organisation tokens, when it sent one: its organisation and scopes. */
export interface OrganisationTokenCaller {
  tokenId: string;
  organisationId: string;
  organisationSlug: string;
  scopes: readonly OrganisationTokenScope[];
  /** The person it acts for, with their powers (null: an operator's token, which answers to nobody). */
  createdBy: string | null;
}

/** last_used_at is written at most this often per token. */
const TOUCH_SECONDS = 60;

/**
 * The organisation token presented, if it is live and holds `scope`. It is looked up on every call:
 * tokens are few and their calls rare (a SIEM's pull every few minutes), so a revocation needs no
 * cache to forget it.
 */
export async function authenticateOrganisationToken(
  sql: Db,
  token: string,
  scope: OrganisationTokenScope,
): Promise<OrganisationTokenCaller> {
  const parsed = parseOrganisationToken(token);
  if (!parsed) throw credentialRefused('the organisation token is malformed');
  const row = await findOrganisationTokenByHash(sql, parsed.hash, TOUCH_SECONDS);
  if (!row?.active) throw credentialRefused('the organisation token is unknown, revoked or expired');
  // Revoked in the transaction that lowered its maker's role; read here too, so no path that changes
  // a role can leave a token working above its maker.
  if (!row.makerMayHold) {
    throw credentialRefused('the person who made this organisation token no longer holds a role that may use it');
  }
  if (row.stale) await touchOrganisationToken(sql, row.id, TOUCH_SECONDS);
  if (!row.scopes.includes(scope)) {
    throw new DomainError('forbidden', `this organisation token does not hold the scope "${scope}"`);
  }
  return {
    tokenId: row.id,
    organisationId: row.organisationId,
    organisationSlug: row.organisationSlug,
    scopes: row.scopes,
    createdBy: row.createdBy,
  };
}

/** The token's organisation must be the one the path names; another one is a 404, as for a person outside it. */
export function assertTokenFor(caller: OrganisationTokenCaller, org: string): void {
  if (caller.organisationSlug !== org) throw notFound('organisation');
}
