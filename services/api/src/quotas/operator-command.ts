import type { OrganisationQuota } from '@outpost/sdk/contracts';
import { connectDatabase } from '../db/client.js';
import { getWorkspaceBySlug } from '../identity/db/workspaces.js';
import { isQuotaName, QUOTA_NAMES, setQuotaOverride } from './quotas.js';
import { quotaDetails } from './usage.js';

/*
 * `outpost server quota set <workspace> <quota> <limit|default>` and `outpost server quota ls
 * <workspace>`: the operator changes one workspace's quotas, talking to the database as the API
 * servers do (DATABASE_URL). No route does this: a workspace's own credentials must not raise its quotas.
 * Replicas read a workspace's quotas on each check, so a change holds at once. The workspace's
 * organisation may have set limits of its own below the operator's (they are in their own table,
 * which this leaves alone): the workspace is held to the lower, and `ls` shows both.
 */

export const QUOTA_USAGE = `outpost server quota set <workspace-slug> <quota> <limit|default>   (needs DATABASE_URL)
       outpost server quota ls <workspace-slug>                               (needs DATABASE_URL)
         quotas: ${QUOTA_NAMES.join(', ')}`;

export interface CommandIo {
  out: (line: string) => void;
  /** Prints the problem with the usage; returns the exit code of a usage error. */
  fail: (message: string) => number;
}

/**
 * One quota as `ls` prints it: the limit the workspace is held to, then where it comes from when not
 * the default. `automations: 7 (default 500); used 0` for an operator's override alone;
 * `automations: 3 (operator 7, organisation 3, default 500); used 0` once the organisation set one.
 */
function quotaLine(q: OrganisationQuota): string {
  const from =
    q.organisationLimit !== null
      ? ` (operator ${q.operatorLimit}, organisation ${q.organisationLimit}, default ${q.default})`
      : q.limit === q.default
        ? ''
        : ` (default ${q.default})`;
  return `${q.name}: ${q.limit}${from}; used ${q.used ?? '-'}${q.per ? ` this ${q.per}` : ''}`;
}

/** Runs `quota <args…>`; returns the exit code. */
export async function quotaCommand(databaseUrl: string | undefined, args: string[], io: CommandIo): Promise<number> {
  const [verb, slug, name, value] = args;
  if (verb !== 'set' && verb !== 'ls') return io.fail(`unknown command: quota ${verb ?? ''}`.trim());
  if (!databaseUrl) return io.fail('quota needs DATABASE_URL (the database the API servers use)');
  if (!slug) return io.fail('name the workspace by its slug');
  let limit: number | null = null;
  if (verb === 'set') {
    if (args.length !== 4 || name === undefined || value === undefined)
      return io.fail('quota set takes <workspace-slug> <quota> <limit|default>');
    if (!isQuotaName(name)) return io.fail(`no quota is named "${name}"; the quotas are ${QUOTA_NAMES.join(', ')}`);
    if (value !== 'default') {
      limit = Number(value);
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(limit) || limit > 2_147_483_647)
        return io.fail(`the limit must be a whole number from 0 to 2147483647, or "default"; got ${value}`);
    }
  } else if (args.length !== 2) return io.fail('quota ls takes <workspace-slug>');
  const sql = await connectDatabase(databaseUrl, { max: 1, applicationName: 'outpost-quota' });
  try {
    const workspace = await getWorkspaceBySlug(sql, slug);
    if (!workspace) {
      process.stderr.write(`error: no workspace has the slug "${slug}"\n`);
      return 1;
    }
    if (verb === 'set' && name !== undefined && isQuotaName(name)) await setQuotaOverride(sql, workspace.id, name, limit);
    for (const q of await quotaDetails(sql, workspace.id)) io.out(quotaLine(q));
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
}
