import type { OrganisationAuditExportQuery } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { api } from '../api/instance.js';
import { TextInput } from '../components/form-field.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { WorkspaceFilter } from '../components/workspace-filter.js';
import { useResource } from '../hooks/use-resource.js';
import { localToIso } from '../lib/audit-log.js';

/**
 * The organisation's audit log for its owners, admins and auditors: the export of every workspace's
 * entries (or one workspace's, or a time window), and each workspace's chain head, which a whole
 * export must reach: a verifier that stops short of it was handed a cut-off or trimmed log.
 */
export function OrganisationAuditSection({ organisation, workspaces }: { organisation: string; workspaces: string[] }) {
  const heads = useResource(
    (signal) => api.call('organisationAuditHeads', { params: { org: organisation }, signal }),
    [organisation],
  );
  const [workspace, setWorkspace] = useState('');
  const [since, setSince] = useState('');
  const [until, setUntil] = useState('');

  // A plain link the browser downloads with the session's cookie: the export streams, so it is never
  // read into the page's memory.
  const query: OrganisationAuditExportQuery = {};
  if (workspace) query.workspace = workspace;
  const sinceIso = localToIso(since);
  const untilIso = localToIso(until);
  if (sinceIso) query.since = sinceIso;
  if (untilIso) query.until = untilIso;
  const exportHref = api.url('organisationAuditExport', { params: { org: organisation }, query });

  return (
    <section className="panel" aria-label="Audit">
      <div className="panel-header">
        <h2>Audit</h2>
        <a
          className="button"
          href={exportHref}
          download={`audit-log-${organisation}.ndjson`}
          data-testid="organisation-audit-export"
        >
          Export NDJSON
        </a>
      </div>
      <div className="inline-form" data-testid="organisation-audit-filters">
        <WorkspaceFilter
          value={workspace}
          workspaces={workspaces}
          onChange={setWorkspace}
          label="Workspace to export"
          testId="organisation-audit-workspace"
        />
        <label className="field-inline">
          <span className="field-label">since</span>
          <TextInput type="datetime-local" value={since} onChange={setSince} testId="organisation-audit-since" />
        </label>
        <label className="field-inline">
          <span className="field-label">until</span>
          <TextInput type="datetime-local" value={until} onChange={setUntil} testId="organisation-audit-until" />
        </label>
      </div>
      {heads.error && <Notice>{heads.error}</Notice>}
      {heads.data && heads.data.items.length === 0 && <Empty>No workspaces.</Empty>}
      {heads.data && heads.data.items.length > 0 && (
        <table className="grid-table" data-testid="organisation-audit-heads">
          <TableHead columns={['Workspace', { label: 'Entries', className: 'num' }, 'Last hash']} />
          <tbody>
            {heads.data.items.map((head) => (
              <tr
                key={head.workspaceId}
                data-testid="organisation-audit-head"
                data-workspace={head.workspace}
                data-seq={head.seq}
              >
                <td className="strong">{head.workspace}</td>
                <td className="num" data-testid="organisation-audit-head-seq">
                  {head.seq}
                </td>
                <td>
                  <code title={head.hash} data-testid="organisation-audit-head-hash">
                    {head.hash.slice(0, 12)}
                  </code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
