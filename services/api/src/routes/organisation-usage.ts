import {
  type OrganisationUsageResponse,
  USAGE_MEASURES,
  type UsageMeasure,
  usageRange,
  type WorkspaceMonthUsage,
} from '@outpost/sdk/contracts';
import type { OrganisationTokenCaller } from '../auth/organisation-tokens.js';
import type { Principal } from '../auth/principal.js';
import type { AppDeps } from '../context.js';
import { readUsage } from '../db/usage.js';
import { exportedWorkspaces, organisationReader } from './organisation-audit.js';
import type { Handlers } from './types.js';

/** `YYYY-MM` of each month from `from` to `to`, both included. */
function monthsOf(from: string, to: string): string[] {
  const months: string[] = [];
  let year = Number(from.slice(0, 4));
  let month = Number(from.slice(5, 7));
  for (let m = from; m <= to; ) {
    months.push(m);
    month += 1;
    if (month === 13) {
      month = 1;
      year += 1;
    }
    m = `${String(year).padStart(4, '0')}-${String(month).padStart(2, '0')}`;
  }
  return months;
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
  const counted = await readUsage(
    deps.sql,
    workspaces.map((w) => w.id),
    `${from}-01`,
    `${to}-01`,
  );
  const byKey = new Map(counted.map((row) => [`${row.workspaceId} ${row.month.slice(0, 7)}`, row]));
  const items: WorkspaceMonthUsage[] = [];
  for (const month of monthsOf(from, to)) {
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
