import {
  MemberRole,
  ORGANISATION_ADMINS,
  ORGANISATION_READERS,
  type OrganisationMember,
  OrganisationRole,
  type WorkspaceHealth,
} from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { TextInput } from '../components/form-field.js';
import { LoadMore } from '../components/load-more.js';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { PersonCell } from '../components/person-cell.js';
import { TableHead } from '../components/table-head.js';
import { WORKSPACES_CHANGED } from '../components/workspace-switcher.js';
import { useCursorList } from '../hooks/use-cursor-list.js';
import { useResource } from '../hooks/use-resource.js';
import { useSubmit } from '../hooks/use-submit.js';
import { formatDateTime } from '../lib/format.js';
import { OrganisationAuditSection } from './organisation-audit.js';
import { OrganisationGroupsSection } from './organisation-groups.js';
import { OrganisationQuotasSection } from './organisation-quotas.js';
import { OrganisationSsoSection } from './organisation-sso.js';
import { OrganisationTokensSection } from './organisation-tokens.js';
import { OrganisationUsageSection } from './organisation-usage.js';

/**
 * The organisation's home: each workspace the person can open with how it is doing, for its owners,
 * admins and auditors its people, its directory groups, its single sign-on, its audit log and its
 * workspaces' usage, and for its owners and admins the workspaces' lifecycle (create, rename,
 * archive, restore) and the tokens that read its audit log and usage or let its directory provision it.
 */
export function OrganisationPage({ organisation, currentUserId }: { organisation: string; currentUserId: string | null }) {
  const details = useResource(
    (signal) => api.call('organisationsGet', { params: { org: organisation }, signal }),
    [organisation],
  );
  const health = useResource(
    (signal) => api.call('organisationsHealth', { params: { org: organisation }, signal }),
    [organisation],
    { pollMs: 60_000 },
  );
  // Organisation roles act only for a confirmed address: until then every section would answer 403,
  // so the page says once what to do instead.
  const account = useResource((signal) => api.call('accountInvitationsList', { signal }), []);
  const confirmed = account.data?.emailVerified === true;
  const role = details.data?.role ?? null;
  const admin = confirmed && role !== null && ORGANISATION_ADMINS.includes(role);
  const reader = confirmed && role !== null && ORGANISATION_READERS.includes(role);
  const reload = async () => {
    await Promise.all([details.reload(), health.reload()]);
    window.dispatchEvent(new Event(WORKSPACES_CHANGED));
  };

  return (
    <div className="page" data-testid="organisation-page">
      <div className="page-header">
        <h1 data-testid="organisation-name">{details.data?.name ?? organisation}</h1>
        {role && (
          <span className="role" data-testid="organisation-role">
            organisation {role}
          </span>
        )}
      </div>
      {details.error && <Notice>{details.error}</Notice>}
      {role !== null && ORGANISATION_READERS.includes(role) && account.data?.emailVerified === false && <ConfirmAddress />}
      <section className="panel" aria-label="Workspaces">
        <div className="panel-header">
          <h2>Workspaces</h2>
          {health.data && <span className="muted small">runs due in the last {health.data.windowHours} hours</span>}
        </div>
        {admin && <CreateWorkspaceForm organisation={organisation} onCreated={reload} />}
        {health.error && <Notice>{health.error}</Notice>}
        {health.data && health.data.items.length === 0 && <Empty>No workspaces you can open.</Empty>}
        {health.data && health.data.items.length > 0 && (
          <WorkspaceTable organisation={organisation} items={health.data.items} admin={admin} onChanged={reload} />
        )}
      </section>
      {reader && (
        <PeopleSection
          organisation={organisation}
          workspaces={details.data?.workspaces.map((w) => w.slug) ?? []}
          admin={admin}
          owner={role === 'owner'}
          currentUserId={currentUserId}
        />
      )}
      {/* The sections' keys restart them for another organisation and differ from each other: React
          may keep a stale copy of one of two siblings that share a key on screen beside its new one. */}
      {reader && (
        <OrganisationGroupsSection
          key={`groups:${organisation}`}
          organisation={organisation}
          workspaces={details.data?.workspaces ?? []}
          admin={admin}
        />
      )}
      {reader && (
        <OrganisationSsoSection
          key={`sso:${organisation}`}
          organisation={organisation}
          workspaces={details.data?.workspaces ?? []}
          owner={role === 'owner'}
        />
      )}
      {reader && (
        <OrganisationAuditSection organisation={organisation} workspaces={details.data?.workspaces.map((w) => w.slug) ?? []} />
      )}
      {reader && (
        <OrganisationUsageSection organisation={organisation} workspaces={details.data?.workspaces.map((w) => w.slug) ?? []} />
      )}
      {reader && (
        <OrganisationQuotasSection
          organisation={organisation}
          workspaces={details.data?.workspaces.map((w) => w.slug) ?? []}
          admin={admin}
        />
      )}
      {admin && role && <OrganisationTokensSection organisation={organisation} callerRole={role} />}
      {admin && details.data && <RenameOrganisation organisation={organisation} name={details.data.name} onRenamed={reload} />}
    </div>
  );
}

/** One sentence, and the way to act on it, for an organisation role held by an unconfirmed address. */
function ConfirmAddress() {
  const send = useSubmit();
  const [sent, setSent] = useState<string | null>(null);
  const sendLink = () =>
    send.submit(
      () => api.call('accountVerificationSend', {}),
      (data) => setSent(data.message),
    );
  return (
    <div className="inline-form" data-testid="organisation-confirm-address">
      <span>
        Confirm your email address to see and manage the organisation's people, groups, single sign-on, audit log, usage and
        tokens: organisation roles act only for a proven address.
      </span>
      <button
        type="button"
        className="button"
        disabled={send.busy}
        onClick={() => void sendLink()}
        data-testid="verification-send"
      >
        Email me a link
      </button>
      {sent && (
        <Notice kind="info" testId="verification-notice">
          {sent}
        </Notice>
      )}
      {send.error && <Notice>{send.error}</Notice>}
    </div>
  );
}

function WorkspaceTable({
  organisation,
  items,
  admin,
  onChanged,
}: {
  organisation: string;
  items: WorkspaceHealth[];
  admin: boolean;
  onChanged: () => Promise<void>;
}) {
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [renaming, setRenaming] = useState<string | null>(null);

  const open = async (slug: string) => {
    const result = await api.call('authSessionSwitch', { body: { workspace: slug } });
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    window.location.hash = '#/';
    window.location.reload();
  };
  const archive = async (slug: string, archived: boolean) => {
    setConfirming(null);
    const result = await api.call(archived ? 'organisationWorkspacesArchive' : 'organisationWorkspacesRestore', {
      params: { org: organisation, workspace: slug },
    });
    setError(result.ok ? null : describeFailure(result));
    await onChanged();
  };

  return (
    <>
      {error && <Notice>{error}</Notice>}
      <table className="grid-table" data-testid="organisation-workspaces">
        <TableHead
          columns={[
            'Workspace',
            'Your role',
            { label: 'Failed', className: 'num' },
            { label: 'Completed', className: 'num' },
            { label: 'Running', className: 'num' },
            { label: 'Late', className: 'num' },
            { label: 'Overdue assets', className: 'num' },
            { label: 'Blocked assets', className: 'num' },
            { hidden: 'Actions' },
          ]}
        />
        <tbody>
          {items.map((h) => {
            const w = h.workspace;
            const troubled = h.failedRuns + h.lateRuns + h.overdueAssets + h.blockedAssets > 0;
            return (
              <tr
                key={w.id}
                data-testid="organisation-workspace-row"
                data-workspace={w.slug}
                data-health={w.archivedAt ? 'archived' : troubled ? 'attention' : 'healthy'}
              >
                <td>
                  <div className="cell-main">
                    {renaming === w.slug ? (
                      <RenameWorkspace
                        organisation={organisation}
                        slug={w.slug}
                        name={w.name}
                        onDone={async () => {
                          setRenaming(null);
                          await onChanged();
                        }}
                      />
                    ) : (
                      <span className="strong">{w.name}</span>
                    )}
                    <span className="muted small">
                      {w.slug}
                      {w.archivedAt && ` · archived ${formatDateTime(w.archivedAt)}`}
                    </span>
                  </div>
                </td>
                <td>{w.role === 'viewer' ? 'viewer (read-only)' : w.role}</td>
                <td className="num" data-testid="workspace-failed">
                  <span className={h.failedRuns > 0 ? 'pill pill-offline' : ''}>{h.failedRuns}</span>
                </td>
                <td className="num">{h.completedRuns}</td>
                <td className="num">{h.runningRuns}</td>
                <td className="num" data-testid="workspace-late">
                  <span className={h.lateRuns > 0 ? 'pill pill-paused' : ''}>{h.lateRuns}</span>
                </td>
                <td className="num" data-testid="workspace-overdue">
                  <span className={h.overdueAssets > 0 ? 'pill pill-paused' : ''}>{h.overdueAssets}</span>
                </td>
                <td className="num" data-testid="workspace-blocked">
                  <span className={h.blockedAssets > 0 ? 'pill pill-offline' : ''}>{h.blockedAssets}</span>
                </td>
                <td className="num">
                  <span className="actions">
                    <button
                      type="button"
                      className="button button-quiet"
                      onClick={() => void open(w.slug)}
                      data-testid="workspace-open"
                    >
                      Open
                    </button>
                    {admin && renaming !== w.slug && (
                      <button
                        type="button"
                        className="button button-quiet"
                        onClick={() => setRenaming(w.slug)}
                        data-testid="workspace-rename"
                      >
                        Rename
                      </button>
                    )}
                    {admin &&
                      (w.archivedAt ? (
                        <button
                          type="button"
                          className="button"
                          onClick={() => void archive(w.slug, false)}
                          data-testid="workspace-restore"
                        >
                          Restore
                        </button>
                      ) : (
                        <ConfirmButton
                          label="Archive"
                          testId="workspace-archive"
                          confirming={confirming === w.slug}
                          onAsk={() => setConfirming(w.slug)}
                          onKeep={() => setConfirming(null)}
                          onConfirm={() => void archive(w.slug, true)}
                        />
                      ))}
                  </span>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </>
  );
}

function CreateWorkspaceForm({ organisation, onCreated }: { organisation: string; onCreated: () => Promise<void> }) {
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const { error, busy, submit } = useSubmit();
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    await submit(
      () =>
        api.call('organisationWorkspacesCreate', {
          params: { org: organisation },
          body: { slug: slug.trim(), ...(name.trim() ? { name: name.trim() } : {}) },
        }),
      async () => {
        setSlug('');
        setName('');
        await onCreated();
      },
    );
  };
  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)} data-testid="workspace-create-form">
      <TextInput
        placeholder="Short name, e.g. vision-team"
        value={slug}
        maxLength={40}
        onChange={setSlug}
        aria-label="Short name"
        testId="workspace-create-slug"
      />
      <TextInput
        placeholder="Display name (optional)"
        className="wide-input"
        value={name}
        maxLength={100}
        onChange={setName}
        aria-label="Display name"
        testId="workspace-create-name"
      />
      <button type="submit" className="button button-primary" disabled={busy || !slug.trim()} data-testid="workspace-create">
        Create workspace
      </button>
      {error && <span className="field-error">{error}</span>}
    </form>
  );
}

function RenameWorkspace({
  organisation,
  slug,
  name,
  onDone,
}: {
  organisation: string;
  slug: string;
  name: string;
  onDone: () => Promise<void>;
}) {
  const [value, setValue] = useState(name);
  const { error, busy, submit } = useSubmit();
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    await submit(
      () =>
        api.call('organisationWorkspacesUpdate', {
          params: { org: organisation, workspace: slug },
          body: { name: value.trim() },
        }),
      onDone,
    );
  };
  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)}>
      <TextInput
        value={value}
        maxLength={100}
        onChange={setValue}
        aria-label={`New name of ${slug}`}
        testId="workspace-rename-name"
      />
      <button
        type="submit"
        className="button button-primary"
        disabled={busy || !value.trim()}
        data-testid="workspace-rename-save"
      >
        Save
      </button>
      {error && <span className="field-error">{error}</span>}
    </form>
  );
}

function RenameOrganisation({
  organisation,
  name,
  onRenamed,
}: {
  organisation: string;
  name: string;
  onRenamed: () => Promise<void>;
}) {
  const [value, setValue] = useState(name);
  const { error, busy, submit } = useSubmit();
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    await submit(
      () => api.call('organisationsUpdate', { params: { org: organisation }, body: { name: value.trim() } }),
      onRenamed,
    );
  };
  return (
    <section className="panel" aria-label="Organisation name">
      <div className="panel-header">
        <h2>Name</h2>
      </div>
      <form className="inline-form" onSubmit={(e) => void onSubmit(e)}>
        <TextInput
          className="wide-input"
          value={value}
          maxLength={100}
          onChange={setValue}
          aria-label="Organisation name"
          testId="organisation-rename-name"
        />
        <button type="submit" className="button" disabled={busy || !value.trim() || value.trim() === name}>
          Rename
        </button>
        {error && <span className="field-error">{error}</span>}
      </form>
    </section>
  );
}

/** People read this many at a time, in the order they joined; "Load more people" reads the next. */
const PEOPLE_PAGE_SIZE = 100;

/** The organisation's people: their organisation role and workspaces; owners and admins change them. */
function PeopleSection({
  organisation,
  workspaces,
  admin,
  owner,
  currentUserId,
}: {
  organisation: string;
  workspaces: string[];
  admin: boolean;
  owner: boolean;
  currentUserId: string | null;
}) {
  // Read again from the first page after a change that may take someone out or bring someone in, and
  // when the organisation's workspaces change (a new workspace's creator is its owner there).
  const [readings, setReadings] = useState(0);
  const reload = async () => setReadings((n) => n + 1);
  const workspacesKey = workspaces.join(' ');
  const people = useCursorList(
    (cursor, signal) =>
      api.call('organisationMembersList', {
        params: { org: organisation },
        query: { limit: PEOPLE_PAGE_SIZE, ...(cursor ? { cursor } : {}) },
        signal,
      }),
    (person) => person.userId,
    [organisation, readings, workspacesKey],
  );
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);

  const changeRole = async (person: OrganisationMember, role: OrganisationRole) => {
    const result = await api.call('organisationMembersUpdate', {
      params: { org: organisation, userId: person.userId },
      body: { role },
    });
    setError(result.ok ? null : describeFailure(result));
    if (result.ok) people.replace(result.data);
  };
  const remove = async (person: OrganisationMember) => {
    setConfirming(null);
    const result = await api.call('organisationMembersRemove', { params: { org: organisation, userId: person.userId } });
    setError(result.ok ? null : describeFailure(result));
    await reload();
  };
  // Admins change member and auditor; owner and admin are for owners to grant.
  const grantable = (role: OrganisationRole) => owner || !ORGANISATION_ADMINS.includes(role);

  return (
    <section className="panel" aria-label="People">
      <div className="panel-header">
        <h2>People</h2>
      </div>
      {admin && people.loaded && (
        <PlaceForm organisation={organisation} people={people.items} workspaces={workspaces} onPlaced={reload} />
      )}
      {(error ?? people.error) && <Notice>{error ?? people.error}</Notice>}
      {people.loaded && (
        <table className="grid-table" data-testid="organisation-people">
          <TableHead columns={['Person', 'Organisation role', 'Workspaces', { hidden: 'Actions' }]} />
          <tbody>
            {people.items.map((person) => (
              <tr key={person.userId} data-testid="organisation-person" data-email={person.email}>
                <PersonCell email={person.email} name={person.name} />
                <td>
                  {admin && person.userId !== currentUserId && grantable(person.role) ? (
                    <select
                      value={person.role}
                      onChange={(e) => void changeRole(person, e.target.value as OrganisationRole)}
                      aria-label={`Organisation role of ${person.email}`}
                      data-testid="organisation-person-role"
                    >
                      <Options values={OrganisationRole.options.filter(grantable)} />
                    </select>
                  ) : (
                    person.role
                  )}
                </td>
                <td className="small" data-testid="organisation-person-workspaces">
                  {person.workspaces.length === 0 ? (
                    <span className="muted">none</span>
                  ) : (
                    person.workspaces.map((w) => `${w.slug} (${w.role})`).join(', ')
                  )}
                </td>
                <td className="num">
                  {admin && person.userId !== currentUserId && grantable(person.role) && (
                    <ConfirmButton
                      label="Remove"
                      testId="organisation-person-remove"
                      confirming={confirming === person.userId}
                      onAsk={() => setConfirming(person.userId)}
                      onKeep={() => setConfirming(null)}
                      onConfirm={() => void remove(person)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore list={people} onMore={people.more} label="Load more people" testId="organisation-people-more" />
    </section>
  );
}

/** Gives a person of the organisation a role in one of its workspaces (one of those shown above). */
function PlaceForm({
  organisation,
  people,
  workspaces,
  onPlaced,
}: {
  organisation: string;
  people: OrganisationMember[];
  workspaces: string[];
  onPlaced: () => Promise<void>;
}) {
  const [userId, setUserId] = useState('');
  const [workspace, setWorkspace] = useState('');
  const [role, setRole] = useState<MemberRole>('developer');
  const { error, busy, submit } = useSubmit();
  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    await submit(
      () => api.call('organisationWorkspaceMembersPut', { params: { org: organisation, workspace, userId }, body: { role } }),
      onPlaced,
    );
  };
  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)} data-testid="organisation-place-form">
      <select
        value={userId}
        onChange={(e) => setUserId(e.target.value)}
        aria-label="Person"
        data-testid="organisation-place-person"
      >
        <option value="">Person…</option>
        {people.map((p) => (
          <option key={p.userId} value={p.userId}>
            {p.email}
          </option>
        ))}
      </select>
      <select
        value={workspace}
        onChange={(e) => setWorkspace(e.target.value)}
        aria-label="Workspace"
        data-testid="organisation-place-workspace"
      >
        <option value="">Workspace…</option>
        <Options values={workspaces} />
      </select>
      <select
        value={role}
        onChange={(e) => setRole(e.target.value as MemberRole)}
        aria-label="Role"
        data-testid="organisation-place-role"
      >
        <Options values={MemberRole.options} />
      </select>
      <button
        type="submit"
        className="button button-primary"
        disabled={busy || !userId || !workspace}
        data-testid="organisation-place"
      >
        Give role
      </button>
      {error && <span className="field-error">{error}</span>}
    </form>
  );
}
