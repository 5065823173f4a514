import { type Member, type MemberAddResponse, MemberRole } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { TextInput } from '../components/form-field.js';
import { Empty, Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { PersonCell } from '../components/person-cell.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { useSubmit } from '../hooks/use-submit.js';
import { formatDateTime } from '../lib/format.js';
import { SetupToken } from './setup-token.js';

/** The workspace's people: add by email, change a role, remove. Owners and admins only. */
export function MembersSection({ currentUserId }: { currentUserId: string | null }) {
  const members = useResource((signal) => api.call('membersList', { signal }), []);
  const [added, setAdded] = useState<MemberAddResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const changeRole = async (member: Member, role: MemberRole) => {
    setBusy(member.userId);
    const result = await api.call('membersUpdate', { params: { userId: member.userId }, body: { role } });
    setBusy(null);
    setError(result.ok ? null : describeFailure(result));
    await members.reload();
  };

  const remove = async (member: Member) => {
    setConfirming(null);
    setBusy(member.userId);
    const result = await api.call('membersRemove', { params: { userId: member.userId } });
    setBusy(null);
    setError(result.ok ? null : describeFailure(result));
    await members.reload();
  };

  return (
    <section className="panel" aria-label="Members">
      <div className="panel-header">
        <h2>Members</h2>
      </div>
      <AddMemberForm
        onAdded={(response) => {
          setAdded(response);
          void members.reload();
        }}
      />
      {added && <AddedMember added={added} onDone={() => setAdded(null)} />}
      {(error ?? members.error) && <Notice>{error ?? members.error}</Notice>}
      {members.data && members.data.items.length === 0 && <Empty>No members.</Empty>}
      {members.data && members.data.items.length > 0 && (
        <table className="grid-table" data-testid="members-table">
          <TableHead columns={['Person', 'Role', 'Status', 'Sign-in', 'Added', { hidden: 'Actions' }]} />
          <tbody>
            {members.data.items.map((member) => (
              <tr key={member.userId} data-testid="member-row" data-email={member.email}>
                <PersonCell email={member.email} name={member.name} />
                <td>
                  <select
                    value={member.role}
                    disabled={busy === member.userId}
                    onChange={(e) => void changeRole(member, e.target.value as MemberRole)}
                    aria-label={`Role of ${member.email}`}
                    data-testid="member-role"
                  >
                    <Options values={MemberRole.options} />
                  </select>
                </td>
                <td>
                  <span className="status-cell">
                    {member.state === 'invited' && (
                      <span className="pill pill-paused" data-testid="member-state" title="Grants nothing until they accept">
                        invited
                      </span>
                    )}
                    <span
                      className={`pill ${member.account === 'verified' ? 'pill-active' : 'pill-offline'}`}
                      data-testid="member-account"
                      title={ACCOUNT_HINTS[member.account]}
                    >
                      {member.account}
                    </span>
                  </span>
                </td>
                <td>{member.state === 'invited' ? <span className="muted">—</span> : signInMethods(member)}</td>
                <td>{formatDateTime(member.createdAt)}</td>
                <td className="num">
                  {member.userId === currentUserId ? (
                    <span className="muted small">you</span>
                  ) : (
                    <ConfirmButton
                      label="Remove"
                      testId="member-remove"
                      confirming={confirming === member.userId}
                      disabled={busy === member.userId}
                      onAsk={() => setConfirming(member.userId)}
                      onKeep={() => setConfirming(null)}
                      onConfirm={() => void remove(member)}
                    />
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** What each account state means, for the pill's tooltip. */
const ACCOUNT_HINTS: Record<Member['account'], string> = {
  managed: 'Set up by this workspace: signs in here only until they confirm their address',
  verified: 'They confirmed their address: only they set their password',
  unverified: 'An account this workspace does not manage, its address not confirmed yet',
};

function signInMethods(member: Member): string {
  const methods = [member.hasPassword ? 'password' : null, member.sso ? 'single sign-on' : null].filter(Boolean);
  return methods.length > 0 ? methods.join(', ') : 'not set up yet';
}

function AddedMember({ added, onDone }: { added: MemberAddResponse; onDone: () => void }) {
  if (!added.setupToken) {
    return (
      <div className="created-key" role="status" data-testid="member-added" data-outcome={added.outcome}>
        <p>
          <strong>{added.member.email}</strong> was invited as {added.member.role}.{' '}
          <button type="button" className="button button-quiet" onClick={onDone} data-testid="member-added-done">
            Done
          </button>
        </p>
        <p className="muted small" data-testid="member-added-message">
          {added.message}
        </p>
      </div>
    );
  }
  return (
    <SetupToken
      email={added.member.email}
      token={added.setupToken}
      expiresAt={added.setupTokenExpiresAt}
      message={added.message}
      onDone={onDone}
    />
  );
}

function AddMemberForm({ onAdded }: { onAdded: (added: MemberAddResponse) => void }) {
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<MemberRole>('developer');
  const { error, setError, busy, submit } = useSubmit();

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const address = email.trim();
    if (!/^[^\s@]+@[^\s@]+$/.test(address)) {
      setError('Email: enter an address such as ada@example.com.');
      return;
    }
    await submit(
      () => api.call('membersAdd', { body: { email: address, role } }),
      (added) => {
        setEmail('');
        onAdded(added);
      },
    );
  };

  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)} data-testid="member-add-form">
      <TextInput
        type="email"
        placeholder="Email, e.g. ada@example.com"
        className="wide-input"
        value={email}
        maxLength={320}
        onChange={setEmail}
        aria-label="Email"
        testId="member-add-email"
      />
      <select
        value={role}
        onChange={(e) => setRole(e.target.value as MemberRole)}
        aria-label="Role"
        data-testid="member-add-role"
      >
        <Options values={MemberRole.options} />
      </select>
      <button type="submit" className="button button-primary" disabled={busy || !email} data-testid="member-add">
        Add member
      </button>
      {error && <span className="field-error">{error}</span>}
    </form>
  );
}
