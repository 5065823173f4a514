import type { Invitation, InvitationAcceptResponse } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime } from '../lib/format.js';
import { href } from '../router.js';

/**
 * The signed-in person's invitations to other workspaces. They are listed, and can be accepted,
 * once the person's address is confirmed; until then the section offers to email a link.
 */
export function InvitationsSection() {
  const invitations = useResource((signal) => api.call('accountInvitationsList', { signal }), []);
  const [accepted, setAccepted] = useState<InvitationAcceptResponse | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState<string | null>(null);

  const accept = async (invitation: Invitation) => {
    setBusy(invitation.workspace.id);
    const result = await api.call('accountInvitationsAccept', { params: { workspaceId: invitation.workspace.id } });
    setBusy(null);
    if (result.ok) {
      setAccepted(result.data);
      setError(null);
    } else setError(describeFailure(result));
    await invitations.reload();
  };

  const sendLink = async () => {
    setBusy('verification');
    const result = await api.call('accountVerificationSend', {});
    setBusy(null);
    if (result.ok) {
      setNotice(result.data.message);
      setError(null);
    } else setError(describeFailure(result));
  };

  const data = invitations.data;
  return (
    <section className="panel" aria-label="Invitations" data-testid="invitations">
      <div className="panel-header">
        <h2>Invitations</h2>
      </div>
      {accepted && (
        <Notice kind="success" testId="invitation-accepted">
          You joined {accepted.workspace.name} as {accepted.role}.{' '}
          <a href={href('/sign-in', { workspace: accepted.workspace.slug })} data-testid="invitation-sign-in">
            Sign in to {accepted.workspace.name}
          </a>
        </Notice>
      )}
      {notice && (
        <Notice kind="info" testId="verification-notice">
          {notice}
        </Notice>
      )}
      {(error ?? invitations.error) && <Notice>{error ?? invitations.error}</Notice>}
      {data && !data.emailVerified && (
        <div className="inline-form" data-testid="verification">
          <span className="muted">
            Confirm your email address to see and accept invitations from other workspaces: this account was set up by an admin of
            this workspace, and only the address's owner may take it elsewhere.
          </span>
          <button
            type="button"
            className="button"
            disabled={busy === 'verification'}
            onClick={() => void sendLink()}
            data-testid="verification-send"
          >
            Email me a link
          </button>
        </div>
      )}
      {data?.emailVerified && data.items.length === 0 && <Empty>No open invitations.</Empty>}
      {data?.emailVerified && data.items.length > 0 && (
        <table className="grid-table" data-testid="invitations-table">
          <TableHead columns={['Workspace', 'Role', 'Invited', { hidden: 'Actions' }]} />
          <tbody>
            {data.items.map((invitation) => (
              <tr key={invitation.workspace.id} data-testid="invitation-row" data-workspace={invitation.workspace.slug}>
                <td>
                  <div className="cell-main">
                    <span className="strong">{invitation.workspace.name}</span>
                    <span className="muted small">{invitation.workspace.slug}</span>
                  </div>
                </td>
                <td>{invitation.role}</td>
                <td>{formatDateTime(invitation.invitedAt)}</td>
                <td className="num">
                  <button
                    type="button"
                    className="button button-primary"
                    disabled={busy === invitation.workspace.id}
                    onClick={() => void accept(invitation)}
                    data-testid="invitation-accept"
                  >
                    Accept
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
