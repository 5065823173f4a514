import {
  ORGANISATION_ADMINS,
  ORGANISATION_READERS,
  type OrganisationRole,
  type OrganisationWorkspace,
} from '@outpost/sdk/contracts';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { DomainError, notFound } from '../domain-error.js';
import type { Handlers } from '../http/route-types.js';
import { isQuotaName, QUOTA_NAMES, type QuotaName, quotaLimits, setOrganisationQuotaLimit } from '../quotas/quotas.js';
import { quotaDetails } from '../quotas/usage.js';
import { organisationWorkspace } from './db/organisations.js';
import { actingWithRole, noteIn } from './organisation-handlers.js';

/*
 * An organisation's limits on its workspaces' quotas (docs/organisations.md, "Quotas"). Owners and
 * admins set one per workspace and quota, at most the operator's limit; auditors read them. The
 * workspace is held to the lower of the two (quotas/quotas.ts), so an organisation lowers its
 * workspaces' quotas and never raises them: a tenant that owns its organisation gains nothing here.
 *
 * An archived workspace's quotas are read and set alike: a limit changes nothing of its history, and
 * an admin may want it in place before restoring the workspace.
 */

/** The organisation's workspace by slug, once the person's organisation role is one of `allowed`. */
async function workspaceFor(
  deps: AppDeps,
  principal: Principal,
  params: { org: string; workspace: string },
  allowed: readonly OrganisationRole[],
  doing: string,
): Promise<OrganisationWorkspace> {
  const { userId, organisation } = await actingWithRole(deps, principal, params.org, allowed, doing);
  const workspace = await organisationWorkspace(deps.sql, organisation.id, params.workspace, userId);
  if (!workspace) throw notFound('workspace');
  return workspace;
}

/** The quota the path names; a name no quota has is a 404 naming those there are. */
function quotaNamed(name: string): QuotaName {
  if (!isQuotaName(name)) {
    throw new DomainError('not_found', `no quota is named "${name}"; the quotas are ${QUOTA_NAMES.join(', ')}`);
  }
  return name;
}

export const organisationQuotaHandlers = {
  organisationWorkspaceQuotasList: async ({ params, principal, deps }) => {
    const workspace = await workspaceFor(deps, principal, params, ORGANISATION_READERS, "reading a workspace's quotas");
    return { items: await quotaDetails(deps.sql, workspace.id) };
  },

  organisationWorkspaceQuotasPut: async ({ params, body, principal, deps, audit, logger }) => {
    const workspace = await workspaceFor(deps, principal, params, ORGANISATION_ADMINS, "setting a workspace's quotas");
    const name = quotaNamed(params.name);
    if (body.limit !== null) {
      const ceiling = (await quotaLimits(deps.sql, workspace.id))[name].operator;
      if (body.limit > ceiling) {
        throw new DomainError(
          'validation_failed',
          `an organisation may lower a workspace's quota, not raise it: the operator's limit of "${name}" for "${workspace.slug}" is ${ceiling}`,
          { errors: [{ path: 'body.limit', message: `must be at most ${ceiling}, the operator's limit for this workspace` }] },
        );
      }
    }
    await setOrganisationQuotaLimit(deps.sql, workspace.id, name, body.limit);
    // The workspace's own admins read who changed what it is held to in its own audit log.
    noteIn(audit, principal, [workspace.id], {
      targetIds: { workspaceId: workspace.id },
      summary: { quota: name, limit: body.limit },
    });
    logger.info({ workspaceId: workspace.id, quota: name, limit: body.limit }, "organisation's quota limit set");
    const quota = (await quotaDetails(deps.sql, workspace.id)).find((q) => q.name === name);
    if (!quota) throw new Error(`the quota "${name}" is missing from the workspace's quotas`);
    return quota;
  },
} satisfies Pick<Handlers, 'organisationWorkspaceQuotasList' | 'organisationWorkspaceQuotasPut'>;
