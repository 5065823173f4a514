import type postgres from 'postgres';
import { usableMemberships } from '../auth/db/memberships.js';
import { findUserByEmail, type UserRecord, voidSetupTokens } from '../auth/db/users.js';
import { connectDatabase, type Db } from '../db/client.js';
import { appendOperatorEntries } from '../identity/db/audit.js';
import { lockOrganisation, putOrganisationMember } from '../identity/db/organisations.js';

/*
 * `outpost server users verify-email <address>` and `outpost server organisations set-owner
 * <organisation> <address> [--confirm-email]`: the operator confirms an account's address, or names
 * an organisation's owner, talking to the database as the API servers do (DATABASE_URL). No route
 * does either: a server without a mail server or single sign-on has no other way to a confirmed
 * address, and organisation powers act only for a confirmed one (docs/organisations.md). Each change
 * is recorded in the audit log of the workspaces it concerns, by the actor `operator`.
 */

export const ACCOUNT_USAGE = `outpost server users verify-email <address>                          (needs DATABASE_URL)
       outpost server organisations set-owner <org-slug> <address> [--confirm-email]   (needs DATABASE_URL)`;

export interface OperatorIo {
  out: (line: string) => void;
  /** Prints the problem with the usage; returns the exit code of a usage error. */
  fail: (message: string) => number;
}

/** A refusal of the command's arguments against the database (an unknown address or organisation): one line, exit 1. */
class Refused extends Error {}

function refuse(message: string): never {
  throw new Refused(message);
}

async function accountOf(db: Db, email: string): Promise<UserRecord> {
  return (await findUserByEmail(db, email)) ?? refuse(`no account has the address "${email}"`);
}

/**
 * Confirms the account's address as the operator: it becomes the person's own (no workspace manages
 * it any more, and no workspace's setup token resets its password). The password and sessions stay.
 * Returns the workspace that managed the account, if one did, or undefined when it was confirmed already.
 */
async function confirmAddress(db: Db, user: UserRecord): Promise<{ managedBy: string | null } | undefined> {
  const [row] = await db<{ managed_by: string | null }[]>`
    UPDATE users u SET email_verified_at = now(), managed_by = NULL
    FROM (SELECT id, managed_by FROM users WHERE id = ${user.id} FOR UPDATE) before
    WHERE u.id = before.id AND u.email_verified_at IS NULL
    RETURNING before.managed_by`;
  if (!row) return undefined;
  await voidSetupTokens(db, user.id);
  await appendOperatorEntries(
    db,
    [...(await usableMemberships(db, user.id)).map((m) => m.workspaceId), ...(row.managed_by ? [row.managed_by] : [])],
    {
      action: 'operator.users.verify-email',
      targetIds: { userId: user.id },
      summary: { email: user.email },
    },
  );
  return { managedBy: row.managed_by };
}

function managedWarning(email: string, managed: { managedBy: string | null } | undefined): string[] {
  return managed?.managedBy
    ? [
        `note: a workspace managed this account, so its admins may know its password: ${email} should change it (or reset it with the "Forgot password?" link)`,
      ]
    : [];
}

async function verifyEmail(db: postgres.Sql, email: string, io: OperatorIo): Promise<void> {
  const lines = await db.begin(async (tx) => {
    const user = await accountOf(tx, email);
    const confirmed = await confirmAddress(tx, user);
    if (!confirmed) return [`the address ${user.email} of user ${user.id} was already confirmed; nothing changed`];
    return [`confirmed the address ${user.email} of user ${user.id}`, ...managedWarning(user.email, confirmed)];
  });
  for (const line of lines) io.out(line);
}

async function setOwner(db: postgres.Sql, slug: string, email: string, confirmEmail: boolean, io: OperatorIo): Promise<void> {
  const lines = await db.begin(async (tx) => {
    const [organisation] = await tx<{ id: string; slug: string }[]>`SELECT id, slug FROM organisations WHERE slug = ${slug}`;
    if (!organisation) refuse(`no organisation has the slug "${slug}"`);
    await lockOrganisation(tx, organisation.id);
    const user = await accountOf(tx, email);
    const out: string[] = [];
    if (!user.emailVerifiedAt) {
      if (!confirmEmail) {
        refuse(
          `the address ${user.email} is not confirmed, and organisation powers act only for a confirmed address: add --confirm-email to confirm it now (or run \`outpost server users verify-email ${user.email}\` first)`,
        );
      }
      const confirmed = await confirmAddress(tx, user);
      out.push(`confirmed the address ${user.email} of user ${user.id}`, ...managedWarning(user.email, confirmed));
    }
    const [before] = await tx<{ role: string }[]>`
      SELECT role FROM organisation_members WHERE organisation_id = ${organisation.id} AND user_id = ${user.id}`;
    if (before?.role === 'owner') {
      out.push(`${user.email} was already an owner of the organisation ${organisation.slug}; nothing changed`);
      return out;
    }
    await putOrganisationMember(tx, organisation.id, user.id, 'owner');
    const workspaces = await tx<{ id: string }[]>`SELECT id FROM workspaces WHERE organisation_id = ${organisation.id}`;
    await appendOperatorEntries(
      tx,
      workspaces.map((w) => w.id),
      {
        action: 'operator.organisations.set-owner',
        targetIds: { userId: user.id, organisationId: organisation.id },
        summary: { organisation: organisation.slug, email: user.email, role: 'owner', previousRole: before?.role ?? null },
      },
    );
    out.push(`${user.email} is now an owner of the organisation ${organisation.slug}${before ? ` (was ${before.role})` : ''}`);
    return out;
  });
  for (const line of lines) io.out(line);
}

/**
 * Runs `users <args…>` or `organisations <args…>` (`group`); returns the exit code: 0 done, 1 refused
 * (an unknown address or organisation, an unconfirmed address), 2 a usage error.
 */
export async function accountCommand(
  databaseUrl: string | undefined,
  group: 'users' | 'organisations',
  args: string[],
  options: { confirmEmail: boolean },
  io: OperatorIo,
): Promise<number> {
  const [verb, ...rest] = args;
  if (group === 'users' && verb !== 'verify-email') return io.fail(`unknown command: users ${verb ?? ''}`.trim());
  if (group === 'organisations' && verb !== 'set-owner') return io.fail(`unknown command: organisations ${verb ?? ''}`.trim());
  if (verb === 'verify-email' && rest.length !== 1) return io.fail('users verify-email takes <address>');
  if (verb === 'set-owner' && rest.length !== 2) return io.fail('organisations set-owner takes <org-slug> <address>');
  if (options.confirmEmail && verb !== 'set-owner') return io.fail('--confirm-email goes with organisations set-owner');
  if (!databaseUrl) return io.fail(`${group} ${verb} needs DATABASE_URL (the database the API servers use)`);
  const sql = await connectDatabase(databaseUrl, { max: 1, applicationName: 'outpost-operator' });
  try {
    if (verb === 'verify-email') await verifyEmail(sql, rest[0]!, io);
    else await setOwner(sql, rest[0]!, rest[1]!, options.confirmEmail, io);
    return 0;
  } catch (error) {
    if (!(error instanceof Refused)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return 1;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
