import { type GroupRole, type OrganisationSso, SSO_CLAIM_GROUP_LENGTH_MAX, type SsoGroupRole } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { describedBy } from '../components/form-field.js';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { RolesEditorFrame, SaveOrUndo } from '../components/save-or-undo.js';
import { TableHead } from '../components/table-head.js';
import { GROUP_ROLES_WEAKEST_FIRST, type GroupWorkspace } from '../lib/group-roles.js';
import {
  addMappingRow,
  checkMapping,
  type MappingRow,
  mappingRequest,
  mappingRows,
  mappingSavedText,
  placeErrors,
  problemErrors,
  type RowErrors,
  sameMapping,
  workspaceChoices,
} from '../lib/organisation-sso.js';

/**
 * The roles the ID token's groups claim grants: rows of (group value, workspace, role). Owners add,
 * change and remove rows and save them all at once, with the provider's settings as they are, since
 * the API takes the whole request; admins and auditors read them. A refusal's errors about one grant
 * are shown in its row.
 */
export function GroupMappingEditor({
  organisation,
  current,
  workspaces,
  owner,
  onSaved,
}: {
  organisation: string;
  current: OrganisationSso;
  workspaces: GroupWorkspace[];
  owner: boolean;
  onSaved: (sso: OrganisationSso) => void | Promise<void>;
}) {
  // The mapping as last read or saved: what "unchanged" is measured against.
  const [saved, setSaved] = useState<SsoGroupRole[]>(current.groupRoles);
  const [rows, setRows] = useState<MappingRow[]>(() => mappingRows(current.groupRoles));
  const [errors, setErrors] = useState<Record<number, RowErrors>>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const unchanged = sameMapping(rows, saved);

  const change = (id: number, patch: Partial<Omit<MappingRow, 'id'>>) => {
    setRows((rs) => rs.map((r) => (r.id === id ? { ...r, ...patch } : r)));
    // The row's errors were about what it held; the rest stand until the next save.
    setErrors(({ [id]: _dropped, ...rest }) => rest);
  };
  const remove = (id: number) => {
    setRows((rs) => rs.filter((r) => r.id !== id));
    setErrors(({ [id]: _dropped, ...rest }) => rest);
  };

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setStatus('');
    setFailure(null);
    const checked = checkMapping(rows);
    if (Object.keys(checked.rows).length > 0 || checked.other.length > 0) {
      setErrors(checked.rows);
      setFailure(`Not saved: ${['each row in error says why', ...checked.other].join('; ')}.`);
      return;
    }
    const sent = rows;
    const body = mappingRequest(current, sent);
    setErrors({});
    setBusy(true);
    const result = await api.call('organisationSsoPut', { params: { org: organisation }, body });
    setBusy(false);
    if (!result.ok) {
      const placed = placeErrors(problemErrors(result), body, sent);
      setErrors(placed.rows);
      const fields = Object.entries(placed.fields).map(([field, messages]) => `${field}: ${messages?.join('; ')}`);
      const inRows = Object.keys(placed.rows).length > 0;
      // Errors shown in their rows are not repeated in the sentence under the table.
      setFailure(
        inRows
          ? `Not saved: ${['each refused grant is explained in its row', ...fields, ...placed.other].join('; ')}.`
          : describeFailure(result),
      );
      return;
    }
    setSaved(result.data.groupRoles);
    setRows(mappingRows(result.data.groupRoles));
    setStatus(mappingSavedText(result.data.groupRoles));
    await onSaved(result.data);
  };

  const intro = (
    <>
      <h3>Roles from groups</h3>
      <p className="muted small">
        A person whose ID token lists a group in the <code>{current.groupsClaim}</code> claim gets its role in the workspace,
        matched exactly as the provider sends it (a name for Okta, an object id for Entra ID). The highest of their roles counts,
        with those their directory groups grant.
      </p>
    </>
  );
  return (
    <RolesEditorFrame className="org-sso-mapping" testId="org-sso-mapping" onSubmit={owner ? onSubmit : undefined}>
      {intro}
      {owner ? (
        <>
          <MappingTable
            rows={rows}
            choices={workspaceChoices(workspaces, rows)}
            errors={errors}
            busy={busy}
            onChange={change}
            onRemove={remove}
          />
          <div className="inline-form">
            <button
              type="button"
              className="button"
              disabled={busy}
              onClick={() => setRows((rs) => addMappingRow(rs))}
              data-testid="org-sso-mapping-add"
            >
              Add a group
            </button>
            <SaveOrUndo
              busy={busy}
              unchanged={unchanged}
              onUndo={() => {
                setRows(mappingRows(saved));
                setErrors({});
                setFailure(null);
              }}
              testId="org-sso-mapping"
            />
          </div>
          {failure && <Notice testId="org-sso-mapping-failure">{failure}</Notice>}
          <p className="muted small org-sso-status" role="status" aria-live="polite" data-testid="org-sso-mapping-status">
            {status}
          </p>
        </>
      ) : (
        <>
          <MappingReadOnly roles={saved} />
          <p className="muted small">The organisation's owners choose the roles its groups grant.</p>
        </>
      )}
    </RolesEditorFrame>
  );
}

/** The grants as text, for auditors. */
export function MappingReadOnly({ roles }: { roles: readonly SsoGroupRole[] }) {
  if (roles.length === 0) return <Empty>No group grants a role yet.</Empty>;
  return (
    <table className="grid-table org-sso-mapping-table" data-testid="org-sso-mapping-table">
      <TableHead columns={['Group', 'Workspace', 'Role']} />
      <tbody>
        {roles.map((r) => (
          <tr
            key={`${r.group}\u0000${r.workspace}`}
            data-testid="org-sso-mapping-row"
            data-group={r.group}
            data-workspace={r.workspace}
            data-role={r.role}
          >
            <td>
              <code>{r.group}</code>
            </td>
            <td>{r.workspace}</td>
            <td>{r.role}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The editor's rows: a text input, a workspace select and a role select each, with the row's errors under them. */
export function MappingTable({
  rows,
  choices,
  errors,
  busy,
  onChange,
  onRemove,
}: {
  rows: readonly MappingRow[];
  choices: readonly { slug: string; label: string }[];
  errors: Record<number, RowErrors>;
  busy: boolean;
  onChange: (id: number, patch: Partial<Omit<MappingRow, 'id'>>) => void;
  onRemove: (id: number) => void;
}) {
  if (rows.length === 0) return <Empty>No group grants a role yet. Add one.</Empty>;
  return (
    <table className="grid-table org-sso-mapping-table" data-testid="org-sso-mapping-table">
      <TableHead columns={['Group (as the claim lists it)', 'Workspace', 'Role', { hidden: 'Actions' }]} />
      <tbody>
        {rows.map((row, index) => {
          const rowErrors = errors[row.id] ?? {};
          const base = `org-sso-mapping-${row.id}`;
          // What is wrong with the row as a whole goes with its group, the first thing read in it.
          const groupErrors = [...(rowErrors.row ?? []), ...(rowErrors.group ?? [])];
          const invalid = groupErrors.length > 0 || Boolean(rowErrors.workspace?.length || rowErrors.role?.length);
          const n = index + 1;
          return (
            <tr
              key={row.id}
              className={invalid ? 'row-invalid' : undefined}
              data-testid="org-sso-mapping-row"
              data-group={row.group}
              data-workspace={row.workspace}
              data-role={row.role}
            >
              <td>
                <div className="org-sso-mapping-cell">
                  <label className="visually-hidden" htmlFor={`${base}-group`}>
                    Group of grant {n}
                  </label>
                  <input
                    id={`${base}-group`}
                    type="text"
                    spellCheck={false}
                    placeholder="ml-platform"
                    value={row.group}
                    maxLength={SSO_CLAIM_GROUP_LENGTH_MAX}
                    disabled={busy}
                    onChange={(e) => onChange(row.id, { group: e.target.value })}
                    data-testid="org-sso-mapping-group"
                    {...describedBy(groupErrors, `${base}-group-error`)}
                  />
                  <CellErrors id={`${base}-group-error`} messages={groupErrors} />
                </div>
              </td>
              <td>
                <div className="org-sso-mapping-cell">
                  <label className="visually-hidden" htmlFor={`${base}-workspace`}>
                    Workspace of grant {n}
                  </label>
                  <select
                    id={`${base}-workspace`}
                    value={row.workspace}
                    disabled={busy}
                    onChange={(e) => onChange(row.id, { workspace: e.target.value })}
                    data-testid="org-sso-mapping-workspace"
                    {...describedBy(rowErrors.workspace, `${base}-workspace-error`)}
                  >
                    <option value="">Workspace…</option>
                    {choices.map((c) => (
                      <option key={c.slug} value={c.slug}>
                        {c.label}
                      </option>
                    ))}
                  </select>
                  <CellErrors id={`${base}-workspace-error`} messages={rowErrors.workspace} />
                </div>
              </td>
              <td>
                <div className="org-sso-mapping-cell">
                  <label className="visually-hidden" htmlFor={`${base}-role`}>
                    Role of grant {n}
                  </label>
                  <select
                    id={`${base}-role`}
                    value={row.role}
                    disabled={busy}
                    onChange={(e) => onChange(row.id, { role: e.target.value as GroupRole })}
                    data-testid="org-sso-mapping-role"
                    {...describedBy(rowErrors.role, `${base}-role-error`)}
                  >
                    <Options values={GROUP_ROLES_WEAKEST_FIRST} />
                  </select>
                  <CellErrors id={`${base}-role-error`} messages={rowErrors.role} />
                </div>
              </td>
              <td className="num">
                <button
                  type="button"
                  className="button button-quiet"
                  disabled={busy}
                  onClick={() => onRemove(row.id)}
                  data-testid="org-sso-mapping-remove"
                >
                  Remove<span className="visually-hidden"> grant {n}</span>
                </button>
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** One control's errors, under it. */
function CellErrors({ id, messages }: { id: string; messages: string[] | undefined }) {
  if (!messages?.length) return null;
  return (
    <span className="field-error" id={id} role="alert" data-testid="org-sso-mapping-error">
      {messages.join('; ')}
    </span>
  );
}
