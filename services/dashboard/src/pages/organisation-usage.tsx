import {
  OrganisationUsageQuery,
  USAGE_MEASURES,
  USAGE_MONTHS_MAX,
  type UsageMeasure,
  type WorkspaceMonthUsage,
} from '@outpost/sdk/contracts';
import { useMemo, useRef, useState } from 'react';
import { api } from '../api/instance.js';
import { TextInput } from '../components/form-field.js';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { WorkspaceFilter } from '../components/workspace-filter.js';
import { useResource } from '../hooks/use-resource.js';
import {
  addMonths,
  exactMeasure,
  formatMeasure,
  MEASURE_TEXT,
  monthLabel,
  monthRange,
  usageSeries,
  utcMonth,
} from '../lib/usage.js';
import { seriesClass, UsageChart } from './usage-chart.js';

/** The months shown at first: the last six, this one included. */
const DEFAULT_MONTHS = 6;

/**
 * What the organisation's workspaces used, month by month, for its owners, admins and auditors: one
 * month's figures per workspace, a chart per measure over the range, and the range as CSV.
 */
export function OrganisationUsageSection({ organisation, workspaces }: { organisation: string; workspaces: string[] }) {
  const [to, setTo] = useState(() => utcMonth());
  const [from, setFrom] = useState(() => addMonths(utcMonth(), 1 - DEFAULT_MONTHS));
  const [workspace, setWorkspace] = useState('');
  const [month, setMonth] = useState<string | null>(null);

  // A workspace renamed or archived meanwhile drops out of the filter rather than asking for a 404.
  const chosen = workspace !== '' && workspaces.includes(workspace) ? workspace : '';
  // A range is asked for only once it is one the API takes (months typed digit by digit pass through
  // ranges it refuses); until then the last good one stays shown, with what is wrong beside it.
  const checked = OrganisationUsageQuery.safeParse({ ...(from ? { from } : {}), ...(to ? { to } : {}) });
  const rangeProblem = checked.success ? null : (checked.error.issues[0]?.message ?? 'not a range of months');
  const lastGood = useRef({ from, to });
  if (checked.success) lastGood.current = { from, to };
  const range = lastGood.current;
  // Blank fields are left out of the query (the API then takes this month), never sent empty.
  const query: OrganisationUsageQuery = { from: range.from, to: range.to, workspace: chosen };
  const usage = useResource(
    (signal) => api.call('organisationUsage', { params: { org: organisation }, query, signal }),
    [organisation, range.from, range.to, chosen],
  );
  // A plain link the browser downloads with the session's cookie, as the audit export is.
  const exportHref = api.url('organisationUsageExport', { params: { org: organisation }, query });
  // The name the server gives the file too, with the API's defaults for blank months.
  const exportTo = range.to || utcMonth();
  const exportName = `usage-${organisation}-${range.from || exportTo}-to-${exportTo}.csv`;
  const data = usage.data;
  const months = useMemo(() => (data ? monthRange(data.from, data.to) : []), [data]);
  const series = useMemo(() => (data ? usageSeries(data.items) : []), [data]);
  const shown = month !== null && months.includes(month) ? month : (months.at(-1) ?? null);

  return (
    <section className="panel" aria-label="Usage" data-testid="organisation-usage" aria-busy={usage.loading}>
      <div className="panel-header">
        <h2>Usage</h2>
        {rangeProblem === null && (
          <a className="button" href={exportHref} download={exportName} data-testid="organisation-usage-export">
            Download CSV
          </a>
        )}
      </div>
      <div className="inline-form" data-testid="organisation-usage-filters">
        <label className="field-inline">
          <span className="field-label">from</span>
          <TextInput type="month" value={from} max={to || undefined} onChange={setFrom} testId="organisation-usage-from" />
        </label>
        <label className="field-inline">
          <span className="field-label">to</span>
          <TextInput type="month" value={to} min={from || undefined} onChange={setTo} testId="organisation-usage-to" />
        </label>
        <WorkspaceFilter
          value={chosen}
          workspaces={workspaces}
          onChange={setWorkspace}
          label="Workspace"
          testId="organisation-usage-workspace"
        />
        <span className="muted small">UTC months, at most {USAGE_MONTHS_MAX} at once</span>
      </div>
      {rangeProblem && <Notice testId="organisation-usage-range">The range is not one to show: {rangeProblem}.</Notice>}
      {usage.error && <Notice testId="organisation-usage-error">{usage.error}</Notice>}
      {data && data.items.length === 0 && <Empty>No workspaces.</Empty>}
      {data && data.items.length > 0 && shown && (
        <>
          <MonthTable items={data.items} months={months} month={shown} onMonth={setMonth} />
          <div className="legend" data-testid="organisation-usage-legend">
            {series.map((s) => (
              <span key={s.label} className="legend-item" title={s.colour === null ? s.workspaces.join(', ') : undefined}>
                <span className={`legend-swatch ${seriesClass(s)}`} />
                {s.label}
              </span>
            ))}
          </div>
          <div className="usage-charts" data-testid="organisation-usage-charts">
            {USAGE_MEASURES.map((m) => (
              <UsageChart key={m} items={data.items} months={months} series={series} measure={m} />
            ))}
          </div>
        </>
      )}
    </section>
  );
}

type SortKey = 'workspace' | UsageMeasure;

/** One month's figures, a row per workspace, sortable by any column, with the month's totals. */
function MonthTable({
  items,
  months,
  month,
  onMonth,
}: {
  items: readonly WorkspaceMonthUsage[];
  months: readonly string[];
  month: string;
  onMonth: (month: string) => void;
}) {
  const [sort, setSort] = useState<{ key: SortKey; direction: 'ascending' | 'descending' } | null>(null);
  const rows = useMemo(() => {
    const inMonth = items.filter((i) => i.month === month);
    if (!sort) return inMonth;
    const sign = sort.direction === 'ascending' ? 1 : -1;
    const { key } = sort;
    return inMonth.sort((a, b) =>
      key === 'workspace'
        ? sign * a.workspace.localeCompare(b.workspace)
        : sign * (a[key] - b[key]) || a.workspace.localeCompare(b.workspace),
    );
  }, [items, month, sort]);
  const totals = useMemo(
    () =>
      Object.fromEntries(USAGE_MEASURES.map((m) => [m, rows.reduce((sum, r) => sum + r[m], 0)])) as Record<UsageMeasure, number>,
    [rows],
  );
  // Ascending, descending, then the API's order (by slug), as the other sortable tables do.
  const next = (key: SortKey) =>
    setSort((s) =>
      s?.key !== key ? { key, direction: 'ascending' } : s.direction === 'ascending' ? { key, direction: 'descending' } : null,
    );
  const header = (key: SortKey, text: string, numeric: boolean) => {
    const direction = sort?.key === key ? sort.direction : undefined;
    return (
      <th key={key} scope="col" className={numeric ? 'num' : undefined} aria-sort={direction ?? 'none'}>
        <button type="button" className="sort-button" onClick={() => next(key)} data-testid="organisation-usage-sort">
          {text}
          <span className="sort-mark" aria-hidden="true">
            {direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ''}
          </span>
        </button>
      </th>
    );
  };

  return (
    <>
      <div className="inline-form">
        <label className="field-inline">
          <span className="field-label">month</span>
          <select value={month} onChange={(e) => onMonth(e.target.value)} data-testid="organisation-usage-month">
            <Options values={[...months].reverse()} label={(m) => monthLabel(m)} />
          </select>
        </label>
      </div>
      <div className="usage-table-wrap">
        <table className="grid-table usage-table" data-testid="organisation-usage-table" data-month={month}>
          <caption className="visually-hidden">Usage per workspace in {monthLabel(month)}</caption>
          <thead>
            <tr>
              {header('workspace', 'Workspace', false)}
              {USAGE_MEASURES.map((m) => header(m, MEASURE_TEXT[m].label, true))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.workspace} data-testid="organisation-usage-row" data-workspace={row.workspace}>
                <th scope="row" className="strong">
                  {row.workspace}
                </th>
                {USAGE_MEASURES.map((m) => (
                  <td key={m} className="num" data-measure={m} data-value={row[m]} title={exactMeasure(m, row[m]) ?? undefined}>
                    {formatMeasure(m, row[m])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
          {rows.length > 1 && (
            <tfoot>
              <tr data-testid="organisation-usage-total">
                <th scope="row">Total</th>
                {USAGE_MEASURES.map((m) => (
                  <td
                    key={m}
                    className="num"
                    data-measure={m}
                    data-value={totals[m]}
                    title={exactMeasure(m, totals[m]) ?? undefined}
                  >
                    {formatMeasure(m, totals[m])}
                  </td>
                ))}
              </tr>
            </tfoot>
          )}
        </table>
      </div>
    </>
  );
}
