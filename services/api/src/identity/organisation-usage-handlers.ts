import {
  monthsBetween,
  type OrganisationUsageResponse,
  USAGE_MEASURES,
  USAGE_MONTHS_MAX,
  type UsageMeasure,
  usageRange,
  type WorkspaceMonthUsage,
} from '@outpost/sdk/contracts';
import type { OrganisationTokenCaller } from '../auth/organisation-tokens.js';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { DomainError } from '../domain-error.js';
import type { Handlers } from '../http/route-types.js';
import { readUsage } from '../quotas/db/usage.js';
import { exportedWorkspaces, organisationReader } from './organisation-audit-handlers.js';

/** `YYYY-MM` of each of the `count` months from `from` on. */
function monthsFrom(from: string, count: number): string[] {
  const first = Number(from.slice(0, 4)) * 12 + Number(from.slice(5, 7)) - 1;
  return Array.from({ length: count }, (_, i) => {
    const index = first + i;
    return `${Math.floor(index / 12)}-${String((index % 12) + 1).padStart(2, '0')}`;
  });
}

/**
 * The usage of the organisation's workspaces (or the one named) for every month of the range, zeros
 * included, by month and then slug: what both the JSON answer and the CSV export carry.
 */
async function organisationUsage(
  deps: AppDeps,
  caller: { principal: Principal | null; organisationToken: OrganisationTokenCaller | null },
  org: string,
  query: { from?: string; to?: string; workspace?: string },
): Promise<OrganisationUsageResponse> {
  const { principal, organisationToken } = caller;
  const doing = "reading the organisation's usage";
  const organisationId = await organisationReader(deps, principal, organisationToken, org, doing);
  const workspaces = [...(await exportedWorkspaces(deps, organisationId, query.workspace))].sort((a, b) =>
    a.slug.localeCompare(b.slug),
  );
  const { from, to } = usageRange(query);
  // Checked again here: the query's check read the clock a moment ago, and a month may have begun since.
  const months = monthsBetween(from, to);
  if (months < 1 || months > USAGE_MONTHS_MAX) {
    throw new DomainError(
      'validation_failed',
      `a usage answer covers 1 to ${USAGE_MONTHS_MAX} months; ${from} to ${to} is ${months}`,
      {
        errors: [{ path: 'query.from', message: `must be at most ${USAGE_MONTHS_MAX} months before ${to}` }],
      },
    );
  }
  const counted = await readUsage(
    deps.sql,
    workspaces.map((w) => w.id),
    `${from}-01`,
    `${to}-01`,
  );
  const byKey = new Map(counted.map((row) => [`${row.workspaceId} ${row.month.slice(0, 7)}`, row]));
  const items: WorkspaceMonthUsage[] = [];
  for (const month of monthsFrom(from, months)) {
    for (const workspace of workspaces) {
      const row = byKey.get(`${workspace.id} ${month}`);
      const figures = Object.fromEntries(USAGE_MEASURES.map((m) => [m, row?.[m] ?? 0])) as Record<UsageMeasure, number>;
      // Milliseconds are the finest a run's state times carry.
      figures.computeSeconds = Math.round(figures.computeSeconds * 1000) / 1000;
      items.push({ workspace: workspace.slug, month, ...figures });
    }
  }
  return { from, to, items };
}

/** A CSV header from a measure's name: `taskRuns` → `task_runs`. */
const column = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export const organisationUsageHandlers = {
  organisationUsage: async ({ params, query, principal, organisationToken, deps }) =>
    organisationUsage(deps, { principal, organisationToken }, params.org, query),

  /** RFC 4180 CSV: a header line, then one line per workspace and month; every field is a slug, a month or a number. */
  organisationUsageExport: async ({ params, query, principal, organisationToken, deps }) => {
    const usage = await organisationUsage(deps, { principal, organisationToken }, params.org, query);
    const lines = [['month', 'workspace', ...USAGE_MEASURES.map(column)].join(',')];
    for (const item of usage.items) lines.push([item.month, item.workspace, ...USAGE_MEASURES.map((m) => item[m])].join(','));
    return new Response(`${lines.join('\r\n')}\r\n`, {
      status: 200,
      headers: {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="usage-${params.org}-${usage.from}-to-${usage.to}.csv"`,
      },
    });
  },
} satisfies Pick<Handlers, 'organisationUsage' | 'organisationUsageExport'>;
