import type { ApprovalDecision, Role, Wait } from '@outpost/sdk/contracts';
import { getApiKey } from '../auth/db/api-keys.js';
import { getUser } from '../auth/db/users.js';
import type { Principal } from '../auth/principal.js';
import type { Sql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { assertMatchesSchema } from '../runs/parameter-schema.js';
import { getWait, toWait } from './db/waits.js';
import { resolveWaits } from './resolve.js';

/** Who may decide an approval that names no roles. */
export const DEFAULT_APPROVER_ROLES: readonly Role[] = ['owner', 'admin', 'developer'];

/** The decider as the decision records it: the person (their name or email), or the API key (its name). */
async function decider(sql: Sql, principal: Principal): Promise<{ id: string; label: string | null }> {
  if (principal.kind === 'session' && principal.userId) {
    const user = await getUser(sql, principal.userId);
    return { id: principal.userId, label: user?.name || user?.email || null };
  }
  const keyId = principal.kind === 'api_key' ? principal.keyId : principal.kind === 'session' ? principal.apiKeyId : null;
  if (keyId) {
    const key = await getApiKey(sql, principal.workspaceId, keyId);
    return { id: keyId, label: key ? `API key “${key.name}”` : null };
  }
  // A session opened by a sign-in link names no person: the decision records the session.
  if (principal.kind === 'session') return { id: principal.sessionId, label: `${principal.role} (sign-in link)` };
  throw new DomainError('forbidden', 'only a person or an API key can decide an approval');
}

/**
 * Approves or rejects an approval wait: the caller's role must be one of the wait's (default owner,
 * admin, developer), and on approval the form's data must match the wait's JSON schema (400 with a
 * path per violation under `body.data`). The decision becomes the wait's value and, when the run is
 * suspended on it, the run is queued again in the same transaction. The route's audit entry records who.
 */
export async function decideApproval(
  sql: Sql,
  input: {
    workspaceId: string;
    waitId: string;
    principal: Principal;
    approved: boolean;
    data: Record<string, unknown> | undefined;
    comment: string | undefined;
  },
): Promise<Wait> {
  const row = await getWait(sql, input.workspaceId, input.waitId);
  if (!row) throw notFound('wait');
  if (row.spec.kind !== 'approval') throw new DomainError('conflict', `the wait is a ${row.spec.kind} wait, not an approval`);
  const roles = row.spec.roles ?? DEFAULT_APPROVER_ROLES;
  const role = input.principal.kind === 'run_token' ? null : input.principal.role;
  if (role === null || !roles.includes(role)) {
    throw new DomainError('forbidden', `only ${roles.join(', ')} may decide “${row.spec.title}”`);
  }
  if (row.status !== 'WAITING') throw new DomainError('conflict', `the approval is already ${row.status.toLowerCase()}`);
  // A rejection needs no form; an approval's form is what the flow goes on with, so it must be complete.
  if (row.spec.form && (input.approved || input.data !== undefined)) {
    assertMatchesSchema(row.spec.form, input.data ?? {}, 'body.data', 'the form does not match the approval’s schema');
  }
  const by = await decider(sql, input.principal);
  const resolved = await sql.begin(async (tx) => {
    const [now] = await tx<{ now: Date }[]>`SELECT now()::timestamptz(3) AS now`;
    const decision: ApprovalDecision = {
      approved: input.approved,
      data: (input.data ?? null) as ApprovalDecision['data'],
      comment: input.comment ?? null,
      decidedBy: by,
      decidedAt: (now as { now: Date }).now.toISOString(),
    };
    return resolveWaits(tx, [{ id: row.id, outcome: { status: 'RESOLVED', value: decision, decidedBy: by.id } }]);
  });
  if (resolved.length === 0) throw new DomainError('conflict', 'the approval was decided or ended meanwhile');
  const after = await getWait(sql, input.workspaceId, input.waitId);
  if (!after) throw notFound('wait');
  return toWait(after);
}
