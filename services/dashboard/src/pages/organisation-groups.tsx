import type { DirectoryGroup, DirectoryGroupMember, GroupRole } from '@outpost/sdk/contracts';
import { type FormEvent, lazy, Suspense, useEffect, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { LoadMore } from '../components/load-more.js';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { PersonCell } from '../components/person-cell.js';
import { RolesEditorFrame, SaveOrUndo } from '../components/save-or-undo.js';
import { TableHead } from '../components/table-head.js';
import { useCursorList } from '../hooks/use-cursor-list.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime, pluralise } from '../lib/format.js';
import {
  draftRoles,
  GROUP_ROLES_WEAKEST_FIRST,
  type GroupWorkspace,
  type RoleDraft,
  type RoleErrors,
  type RoleRow,
  roleDraft,
  roleErrors,
  roleRows,
  rolesText,
  SCIM_GUIDE_HEADING,
  sameRoles,
  savedText,
  scimBaseUrl,
} from '../lib/group-roles.js';

/** Groups, and a group's members, read this many at a time; "Load more" reads the next. */
const PAGE_SIZE = 50;

const ScimGuide = lazy(() => import('./scim-guide.js').then((m) => ({ default: m.ScimGuide })));

/**
 * The organisation's directory groups for its owners, admins and auditors: each with its members
 * and the role it grants in each workspace. The identity provider makes the groups and fills them
 * (SCIM); owners and admins choose what each grants, auditors read it.
 */
export function OrganisationGroupsSection({
  organisation,
  workspaces,
  admin,
}: {
  organisation: string;
  workspaces: GroupWorkspace[];
  admin: boolean;
}) {
  const groups = useCursorList(
    (cursor, signal) =>
      api.call('organisationGroupsList', {
        params: { org: organisation },
        query: { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
        signal,
      }),
    (group) => group.id,
    [organisation],
  );
  const [open, setOpen] = useState<string | null>(null);

  return (
    <section className="panel" aria-label="Directory groups" data-testid="organisation-groups">
      <div className="panel-header">
        <h2>Directory groups</h2>
        <span className="muted small">made and filled by your directory; each grants its members a role per workspace</span>
      </div>
      {groups.error && <Notice>{groups.error}</Notice>}
      {groups.loaded && groups.items.length === 0 && !groups.error && (
        <GroupsEmpty organisation={organisation} origin={api.baseUrl || window.location.origin} admin={admin} />
      )}
      {groups.items.length > 0 && (
        <GroupTable items={groups.items} open={open} onOpen={(id) => setOpen((current) => (current === id ? null : id))} />
      )}
      <LoadMore list={groups} onMore={groups.more} label="Load more groups" testId="organisation-groups-more" />
      {open && (
        <GroupDetail
          key={open}
          organisation={organisation}
          id={open}
          workspaces={workspaces}
          admin={admin}
          onSaved={groups.replace}
          onClose={() => {
            setOpen(null);
            // Back to the button that opened it, rather than to the top of the page.
            document.getElementById(openButtonId(open))?.focus();
          }}
        />
      )}
    </section>
  );
}

function openButtonId(groupId: string): string {
  return `organisation-group-open-${groupId}`;
}

/** The groups as a table: what each grants at a glance, and a button that opens its members and roles below. */
export function GroupTable({
  items,
  open,
  onOpen,
}: {
  items: DirectoryGroup[];
  open: string | null;
  onOpen: (id: string) => void;
}) {
  return (
    <table className="grid-table group-table" data-testid="organisation-groups-table">
      <TableHead
        columns={['Group', { label: 'Members', className: 'num' }, 'Workspace roles it grants', { hidden: 'Actions' }]}
      />
      <tbody>
        {items.map((group) => (
          <tr
            key={group.id}
            className={open === group.id ? 'row-selected' : undefined}
            data-testid="organisation-group-row"
            data-group-id={group.id}
            data-group-name={group.displayName}
          >
            <td>
              <div className="cell-main">
                <span className="strong">{group.displayName}</span>
                {group.externalId && <span className="muted small">directory id {group.externalId}</span>}
              </div>
            </td>
            <td className="num" data-testid="organisation-group-members" data-value={group.members}>
              {group.members.toLocaleString()}
            </td>
            <td className="small" data-testid="organisation-group-roles-summary">
              {group.roles.length === 0 ? <span className="muted">none</span> : rolesText(group.roles)}
            </td>
            <td className="num">
              <button
                type="button"
                id={openButtonId(group.id)}
                className="button button-quiet"
                aria-expanded={open === group.id}
                aria-controls={open === group.id ? 'organisation-group-detail' : undefined}
                onClick={() => onOpen(group.id)}
                data-testid="organisation-group-open"
              >
                {open === group.id ? 'Close' : 'Members and roles'}
                <span className="visually-hidden"> of {group.displayName}</span>
              </button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * What the section says while the organisation has no groups: where they come from, and how an
 * identity provider is connected (a token with the `scim` scope and the SCIM base URL), with the
 * guide's section to read in place.
 */
export function GroupsEmpty({ organisation, origin, admin }: { organisation: string; origin: string; admin: boolean }) {
  const [guide, setGuide] = useState(false);
  return (
    <Empty>
      <div className="group-empty" data-testid="organisation-groups-empty">
        <p>
          No groups yet. Groups come from your company's directory: its identity provider (Okta, Microsoft Entra ID and the like)
          makes them and keeps their members up to date through SCIM, and here{' '}
          {admin ? 'you choose' : "the organisation's owners and admins choose"} the role each group grants in each workspace.
        </p>
        <p>
          To connect the directory,{' '}
          {admin ? 'make a token under Tokens on this page' : 'an owner or admin makes a token under Tokens'} with the{' '}
          <code>scim</code> scope; the identity provider takes that token and the SCIM base URL{' '}
          <code data-testid="organisation-groups-scim-url">{scimBaseUrl(origin, organisation)}</code>.
        </p>
        <details className="group-guide" onToggle={(e) => setGuide(e.currentTarget.open)} data-testid="organisation-groups-guide">
          <summary>How to set up SCIM provisioning (docs/organisations.md, “{SCIM_GUIDE_HEADING}”)</summary>
          {guide && (
            <Suspense fallback={<p className="muted">Loading the guide…</p>}>
              <ScimGuide />
            </Suspense>
          )}
        </details>
      </div>
    </Empty>
  );
}

/** One group opened under the table: who the directory put in it, and the roles it grants. */
function GroupDetail({
  organisation,
  id,
  workspaces,
  admin,
  onSaved,
  onClose,
}: {
  organisation: string;
  id: string;
  workspaces: GroupWorkspace[];
  admin: boolean;
  onSaved: (group: DirectoryGroup) => void;
  onClose: () => void;
}) {
  const group = useResource(
    (signal) => api.call('organisationGroupGet', { params: { org: organisation, id }, signal }),
    [organisation, id],
  );
  const heading = useRef<HTMLHeadingElement>(null);
  const shown = group.data !== null;
  // Keyboard and screen-reader users land on what they opened, not on the button that opened it.
  useEffect(() => {
    if (shown) heading.current?.focus();
  }, [shown]);

  return (
    <div className="group-detail" id="organisation-group-detail" data-testid="organisation-group-detail" data-group-id={id}>
      {group.error && <Notice>{group.error}</Notice>}
      {group.data && (
        <>
          <div className="panel-header">
            <div className="cell-main">
              <h3 ref={heading} tabIndex={-1} data-testid="organisation-group-name">
                {group.data.displayName}
              </h3>
              <span className="muted small">
                {group.data.externalId && `directory id ${group.data.externalId} · `}
                last changed by the directory {formatDateTime(group.data.updatedAt)}
              </span>
            </div>
            <button type="button" className="button button-quiet" onClick={onClose} data-testid="organisation-group-close">
              Close
            </button>
          </div>
          <GroupRolesEditor
            organisation={organisation}
            group={group.data}
            workspaces={workspaces}
            admin={admin}
            onSaved={onSaved}
          />
          <GroupMembers organisation={organisation} group={group.data} />
        </>
      )}
    </div>
  );
}

/**
 * The roles a group grants, one row per workspace of the organisation. Owners and admins choose a
 * role in each (or none) and save them all at once, as the API replaces them; auditors read them.
 * A refusal's errors about one role are shown in that workspace's row.
 */
export function GroupRolesEditor({
  organisation,
  group,
  workspaces,
  admin,
  onSaved,
}: {
  organisation: string;
  group: DirectoryGroup;
  workspaces: GroupWorkspace[];
  admin: boolean;
  onSaved: (group: DirectoryGroup) => void;
}) {
  // The roles as last read or saved: what "unchanged" is measured against.
  const [saved, setSaved] = useState(group.roles);
  const rows = roleRows(workspaces, saved);
  const [draft, setDraft] = useState<RoleDraft>(() => roleDraft(rows, saved));
  const [errors, setErrors] = useState<RoleErrors>({ byWorkspace: {}, other: [] });
  const [failure, setFailure] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [busy, setBusy] = useState(false);
  const roles = draftRoles(rows, draft);
  const unchanged = sameRoles(roles, saved);

  const choose = (slug: string, role: GroupRole | null) => {
    setDraft((d) => ({ ...d, [slug]: role }));
    // The row's error was about the role it had; the rest still stand until the next save.
    setErrors((e) => {
      const { [slug]: _dropped, ...rest } = e.byWorkspace;
      return { ...e, byWorkspace: rest };
    });
  };
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const sent = roles;
    setBusy(true);
    setStatus('');
    setFailure(null);
    setErrors({ byWorkspace: {}, other: [] });
    const result = await api.call('organisationGroupRolesPut', {
      params: { org: organisation, id: group.id },
      body: { roles: sent },
    });
    setBusy(false);
    if (!result.ok) {
      const placed = roleErrors(result, sent);
      setErrors(placed);
      const inRows = Object.keys(placed.byWorkspace).length > 0;
      // Errors shown in their workspaces' rows are not repeated in the sentence under the table.
      setFailure(
        inRows
          ? `Not saved: ${["each refused role is explained in its workspace's row", ...placed.other].join('; ')}.`
          : describeFailure(result),
      );
      return;
    }
    setSaved(result.data.roles);
    setDraft(roleDraft(roleRows(workspaces, result.data.roles), result.data.roles));
    setStatus(savedText(result.data));
    onSaved(result.data);
  };

  const table = (
    <RolesTable group={group} rows={rows} draft={draft} errors={errors.byWorkspace} admin={admin} busy={busy} onChoose={choose} />
  );
  return (
    <RolesEditorFrame className="group-roles" testId="organisation-group-roles-form" onSubmit={admin ? onSubmit : undefined}>
      <h4>Workspace roles</h4>
      {table}
      {admin ? (
        <>
          <div className="inline-form">
            <SaveOrUndo
              busy={busy}
              unchanged={unchanged}
              onUndo={() => {
                setDraft(roleDraft(rows, saved));
                setErrors({ byWorkspace: {}, other: [] });
                setFailure(null);
              }}
              testId="organisation-group-roles"
            />
            <span className="muted small">
              Members get the highest role any of their groups grants; roles given by hand stay.
            </span>
          </div>
          {failure && <Notice testId="organisation-group-roles-error">{failure}</Notice>}
          <p className="muted small group-status" role="status" aria-live="polite" data-testid="organisation-group-roles-status">
            {status}
          </p>
        </>
      ) : (
        <p className="muted small">The organisation's owners and admins choose the roles a group grants.</p>
      )}
    </RolesEditorFrame>
  );
}

/** The rows of the roles editor: a select per workspace for owners and admins, the role as text for auditors. */
export function RolesTable({
  group,
  rows,
  draft,
  errors,
  admin,
  busy,
  onChoose,
}: {
  group: DirectoryGroup;
  rows: RoleRow[];
  draft: RoleDraft;
  errors: Record<string, string[]>;
  admin: boolean;
  busy: boolean;
  onChoose: (slug: string, role: GroupRole | null) => void;
}) {
  if (rows.length === 0) return <Empty>The organisation has no workspaces.</Empty>;
  return (
    <table className="grid-table group-roles-table" data-testid="organisation-group-roles">
      <caption className="visually-hidden">Workspace roles the group {group.displayName} grants</caption>
      <TableHead columns={['Workspace', 'Role its members get']} />
      <tbody>
        {rows.map((row) => {
          const role = draft[row.slug] ?? null;
          const rowErrors = errors[row.slug];
          const selectId = `organisation-group-role-${row.slug}`;
          const errorId = `${selectId}-error`;
          return (
            <tr
              key={row.slug}
              data-testid="organisation-group-role-row"
              data-workspace={row.slug}
              data-role={role ?? ''}
              className={rowErrors ? 'row-invalid' : undefined}
            >
              <th scope="row">
                <div className="cell-main">
                  <span className="strong">{row.name}</span>
                  <span className="muted small">
                    {row.slug}
                    {row.archived && ' · archived'}
                    {!row.listed && ' · no longer a workspace of the organisation'}
                  </span>
                </div>
              </th>
              <td>
                {admin ? (
                  <div className="group-role-cell">
                    <label className="visually-hidden" htmlFor={selectId}>
                      Role of {group.displayName} in {row.slug}
                    </label>
                    <select
                      id={selectId}
                      value={role ?? ''}
                      disabled={busy}
                      onChange={(e) => onChoose(row.slug, (e.target.value || null) as GroupRole | null)}
                      aria-invalid={rowErrors ? true : undefined}
                      aria-describedby={rowErrors ? errorId : undefined}
                      data-testid="organisation-group-role-select"
                    >
                      <option value="">none</option>
                      <Options values={GROUP_ROLES_WEAKEST_FIRST} />
                    </select>
                    {rowErrors && (
                      <span className="field-error" id={errorId} role="alert" data-testid="organisation-group-role-error">
                        {rowErrors.join('; ')}
                      </span>
                    )}
                  </div>
                ) : (
                  <span data-testid="organisation-group-role">{role ?? <span className="muted">none</span>}</span>
                )}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

/** The people the directory put in the group, by email, page by page. */
function GroupMembers({ organisation, group }: { organisation: string; group: DirectoryGroup }) {
  const members = useCursorList(
    (cursor, signal) =>
      api.call('organisationGroupMembersList', {
        params: { org: organisation, id: group.id },
        query: { limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
        signal,
      }),
    (member) => member.userId,
    [organisation, group.id],
  );
  return (
    <div className="group-members">
      <h4>
        Members <span className="muted small">{pluralise(group.members, 'person', 'people')}</span>
      </h4>
      {members.error && <Notice>{members.error}</Notice>}
      {members.loaded && members.items.length === 0 && !members.error && (
        <Empty>The directory has put no one in this group.</Empty>
      )}
      {members.items.length > 0 && <MemberTable items={members.items} />}
      <LoadMore list={members} onMore={members.more} label="Load more members" testId="organisation-group-members-more" />
    </div>
  );
}

/** The group's members read so far, marking those the directory does not keep active. */
export function MemberTable({ items }: { items: DirectoryGroupMember[] }) {
  return (
    <table className="grid-table compact" data-testid="organisation-group-member-list">
      <TableHead columns={['Person', 'In the directory']} />
      <tbody>
        {items.map((member) => (
          <tr
            key={member.userId}
            data-testid="organisation-group-member"
            data-email={member.email}
            data-active={String(member.active)}
          >
            <PersonCell email={member.email} name={member.name} />
            <td>
              {member.active ? (
                'active'
              ) : (
                <span className="pill pill-offline" title="Not active in the directory: the group grants them nothing">
                  inactive
                </span>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
