import {
  type AuditEntry,
  ORGANISATION_ADMINS,
  ORGANISATION_READERS,
  routes,
  TOKENS_PER_ORGANISATION,
} from '@outpost/sdk/contracts';
import { generateOrganisationToken } from '../auth/api-key-format.js';
import {
  allOrganisationWorkspaces,
  countLiveOrganisationTokens,
  insertOrganisationToken,
  listOrganisationTokens,
  revokeOrganisationToken,
  rolesToMake,
} from '../auth/db/organisation-tokens.js';
import { assertTokenFor, type OrganisationTokenCaller } from '../auth/organisation-tokens.js';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { DomainError, notFound } from '../domain-error.js';
import type { Handlers } from '../http/route-types.js';
import { auditLogDownload, filters } from './audit-handlers.js';
import { mergedAuditEntries, readChainHeads } from './db/audit.js';
import { lockOrganisation } from './db/organisations.js';
import { actingWithRole, noteIn } from './organisation-handlers.js';
import { organisationWithRole } from './organisations.js';

/** Entries written to the answer at a time. */
const EXPORT_PAGE = 500;
/**
 * Entries buffered across all workspaces of one export: each workspace's page is this divided among
 * them (at least MIN_WORKSPACE_PAGE), so an organisation of 100 workspaces holds no more than one of 10.
 */
const EXPORT_BUFFER = 5_000;
const MIN_WORKSPACE_PAGE = 50;

/**
 * A workspace's page when `live` workspaces still have entries to read: the buffer shared among
 * them, so pages grow as workspaces run out and the last ones are read in pages of EXPORT_PAGE.
 */
function exportPageSize(live: number): number {
  return Math.min(EXPORT_PAGE, Math.max(MIN_WORKSPACE_PAGE, Math.floor(EXPORT_BUFFER / Math.max(1, live))));
}

/** The organisation's id and every workspace id: where a change to its tokens is recorded. */
async function tokenAdmin(deps: AppDeps, principal: Principal, org: string, doing: string) {
  const { userId, organisation } = await actingWithRole(deps, principal, org, ORGANISATION_ADMINS, doing);
  const workspaces = await allOrganisationWorkspaces(deps.sql, organisation.id);
  return { userId, organisation, workspaceIds: workspaces.map((w) => w.id) };
}

/**
 * The organisation a reader reads: the token's own (a 404 for any other), or the one a person's
 * session is in, where they are an owner, admin or auditor (`doing` names the read in a refusal).
 */
export async function organisationReader(
  deps: AppDeps,
  principal: Principal | null,
  token: OrganisationTokenCaller | null,
  org: string,
  doing: string,
): Promise<string> {
  if (token) {
    assertTokenFor(token, org);
    return token.organisationId;
  }
  if (!principal) throw new Error('an organisation route that takes tokens was reached without a caller');
  return (await actingWithRole(deps, principal, org, ORGANISATION_READERS, doing)).organisation.id;
}

/** The organisation's workspaces an export covers: all, or the one named (a 404 for a slug it does not have). */
export async function exportedWorkspaces(deps: AppDeps, organisationId: string, slug: string | undefined) {
  const all = await allOrganisationWorkspaces(deps.sql, organisationId);
  if (slug === undefined) return all;
  const one = all.filter((w) => w.slug === slug);
  if (one.length === 0) throw notFound('workspace');
  return one;
}

/** What a reader of the organisation's audit log is doing, for the refusal of one who may not. */
const READING_AUDIT = "reading the organisation's audit log";
export const organisationAuditHandlers = {
  organisationTokensList: async ({ params, principal, deps }) => {
    const { organisation } = await actingWithRole(
      deps,
      principal,
      params.org,
      ORGANISATION_ADMINS,
      "reading the organisation's tokens",
    );
    return { items: await listOrganisationTokens(deps.sql, organisation.id) };
  },

  organisationTokensCreate: async ({ params, body, principal, deps, audit, logger }) => {
    const scopes = [...new Set(body.scopes)];
    // A token never outranks its maker (TOKEN_SCOPE_MAKERS in the contracts): `scim` is an owner's.
    const makers = rolesToMake(scopes);
    const doing = `making an organisation token with the scopes ${scopes.map((s) => `"${s}"`).join(', ')}`;
    const { userId, organisation, workspaceIds } = await tokenAdmin(deps, principal, params.org, 'making an organisation token');
    await organisationWithRole(deps.sql, userId, params.org, makers, doing);
    const expiresAt = body.expiresAt ? new Date(body.expiresAt) : null;
    if (expiresAt && expiresAt.getTime() <= Date.now()) {
      throw new DomainError('validation_failed', 'the token would expire before it is made', {
        errors: [{ path: 'expiresAt', message: 'must be in the future' }],
      });
    }
    const { key, hash, prefix } = generateOrganisationToken();
    const made = await deps.sql.begin(async (tx) => {
      // Counted under the organisation's lock, so two requests at once cannot both take the last place,
      // and the role read again under it, so a role taken away a moment ago makes no token.
      await lockOrganisation(tx, organisation.id);
      await organisationWithRole(tx, userId, params.org, makers, doing);
      if ((await countLiveOrganisationTokens(tx, organisation.id)) >= TOKENS_PER_ORGANISATION) {
        throw new DomainError(
          'quota_exceeded',
          `the organisation holds ${TOKENS_PER_ORGANISATION} live tokens, the most it may: revoke one it no longer uses`,
        );
      }
      return insertOrganisationToken(tx, {
        organisationId: organisation.id,
        name: body.name,
        scopes,
        prefix,
        hash,
        createdBy: userId,
        expiresAt,
      });
    });
    // A token reads every workspace's audit log: each one's admins are told it exists.
    noteIn(audit, principal, workspaceIds, {
      targetIds: { organisationTokenId: made.id },
      summary: { name: made.name, scopes: made.scopes.join(' ') },
    });
    logger.info({ organisationTokenId: made.id, scopes: made.scopes }, 'organisation token made');
    return { token: key, organisationToken: made };
  },

  organisationTokensRevoke: async ({ params, principal, deps, audit, logger }) => {
    const { organisation, workspaceIds } = await tokenAdmin(deps, principal, params.org, 'revoking an organisation token');
    if (!(await revokeOrganisationToken(deps.sql, organisation.id, params.id))) throw notFound('organisation token');
    noteIn(audit, principal, workspaceIds, { targetIds: { organisationTokenId: params.id }, summary: { revoked: true } });
    logger.info({ organisationTokenId: params.id }, 'organisation token revoked');
    return null;
  },

  organisationAuditHeads: async ({ params, principal, organisationToken, deps }) => {
    const organisationId = await organisationReader(deps, principal, organisationToken, params.org, READING_AUDIT);
    const workspaces = await allOrganisationWorkspaces(deps.sql, organisationId);
    const heads = await readChainHeads(
      deps.sql,
      workspaces.map((w) => w.id),
    );
    return { items: heads.map((head, i) => ({ ...head, workspace: workspaces[i]?.slug ?? '' })) };
  },

  /**
   * Every matching entry of the organisation's workspaces, one JSON object a line, each workspace's in
   * chain order and the workspaces merged by time. Memory holds a page per workspace, whatever the
   * logs' length; a failure part-way aborts the answer rather than ending it, so a cut-off export
   * never passes for a whole one.
   */
  organisationAuditExport: async ({ params, query, principal, organisationToken, deps, logger, signal }) => {
    const organisationId = await organisationReader(deps, principal, organisationToken, params.org, READING_AUDIT);
    // A place of the organisation's few, held until the answer ends, however it ends.
    const read = deps.bulkReads.enter(organisationId, "an export of the organisation's audit log");
    signal.addEventListener('abort', read.release, { once: true });
    let entries: AsyncGenerator<AuditEntry>;
    let pending: IteratorResult<AuditEntry> | null;
    try {
      const workspaces = await exportedWorkspaces(deps, organisationId, query.workspace);
      entries = mergedAuditEntries(
        deps.sql,
        workspaces.map((w) => w.id),
        filters(query),
        exportPageSize,
        query.afterSeq ?? null,
      );
      // The first entry is read before the answer starts, so a filter the database refuses is a 4xx
      // problem like anywhere else, not a stream cut off after a 200.
      pending = await entries.next();
    } catch (error) {
      read.release();
      throw error;
    }
    const encoder = new TextEncoder();
    // Set once the reader went away: a page read meanwhile is dropped, not written to a closed stream.
    let cancelled = false;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          // Each page of the answer is a slice of work; between slices the export rests (http/bulk-reads.ts).
          await read.turn(signal);
          const started = performance.now();
          const lines: string[] = [];
          while (lines.length < EXPORT_PAGE && !signal.aborted && !cancelled) {
            const next: IteratorResult<AuditEntry> = pending ?? (await entries.next());
            pending = null;
            if (next.done) break;
            if (deps.validateResponses) routes.organisationAuditExport.response.parse(next.value);
            lines.push(`${JSON.stringify(next.value)}\n`);
          }
          if (cancelled) return;
          if (lines.length > 0) controller.enqueue(encoder.encode(lines.join('')));
          read.worked(performance.now() - started);
          if (lines.length < EXPORT_PAGE || signal.aborted) {
            read.release();
            controller.close();
            await entries.return(undefined);
          }
        } catch (error) {
          read.release();
          if (cancelled) return;
          logger.error({ err: error }, 'organisation audit export failed part-way');
          controller.error(error);
        }
      },
      async cancel() {
        cancelled = true;
        read.release();
        await entries.return(undefined);
      },
    });
    return auditLogDownload(body, params.org);
  },
} satisfies Pick<
  Handlers,
  | 'organisationTokensList'
  | 'organisationTokensCreate'
  | 'organisationTokensRevoke'
  | 'organisationAuditHeads'
  | 'organisationAuditExport'
>;
