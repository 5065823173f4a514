import type postgres from 'postgres';
import { getUser } from '../auth/db/users.js';
import { appendOperatorEntries } from './db/audit.js';
import { lockOrganisation, organisationOfWorkspace, putActiveMembership, putOrganisationMember } from './db/organisations.js';
import { newPasswordResetLink } from './email-links.js';

/*
 * The person `npm start` (`outpost dev`) makes for local use: the owner of the local workspace and of
 * its organisation, with a confirmed address, so the Organisation pages work on a machine without a
 * mail server. Only the local launcher calls this: it has the database (it started it), as an
 * operator running `outpost server organisations set-owner --confirm-email` does.
 */

export interface LocalOwner {
  userId: string;
  email: string;
  /** Null when the person has a password; else a one-time link (30 minutes) to choose one. */
  passwordLink: string | null;
}

export async function ensureLocalOwner(
  sql: postgres.Sql,
  input: { workspaceId: string; email: string; publicUrl: string },
): Promise<LocalOwner> {
  return sql.begin(async (tx) => {
    const organisationId = await organisationOfWorkspace(tx, input.workspaceId);
    await lockOrganisation(tx, organisationId);
    // Made confirmed, or confirmed now: the address is the local machine's, and the launcher's to vouch for.
    const [row] = await tx<{ id: string; email: string }[]>`
      INSERT INTO users (email, name, email_verified_at) VALUES (lower(${input.email}), 'Local owner', now())
      ON CONFLICT (email) DO UPDATE SET email_verified_at = coalesce(users.email_verified_at, now()), managed_by = NULL
      RETURNING id, email`;
    if (!row) throw new Error('the local owner could not be made');
    const [before] = await tx<{ role: string }[]>`
      SELECT role FROM organisation_members WHERE organisation_id = ${organisationId} AND user_id = ${row.id}`;
    await putActiveMembership(tx, input.workspaceId, row.id, 'owner');
    if (before?.role !== 'owner') {
      await putOrganisationMember(tx, organisationId, row.id, 'owner');
      await appendOperatorEntries(tx, [input.workspaceId], {
        action: 'operator.organisations.set-owner',
        targetIds: { userId: row.id, organisationId },
        summary: { email: row.email, role: 'owner', previousRole: before?.role ?? null, by: 'local launcher' },
      });
    }
    const user = await getUser(tx, row.id);
    const passwordLink = user?.passwordHash
      ? null
      : (await newPasswordResetLink(tx, input.publicUrl, { userId: row.id, email: row.email })).link;
    return { userId: row.id, email: row.email, passwordLink };
  });
}
