import type { MailRecipientConfirmResponse } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { SignInCard } from '../components/sign-in-card.js';
import { useLinkToken } from '../hooks/use-link-token.js';

/**
 * Uses the link Outpost mailed to an email channel's external recipient
 * (`#/confirm-recipient?token=…`): the address agrees to receive the workspace's notifications.
 * Nothing is confirmed until the person presses the button, so a mail scanner opening the link does not.
 */
export function ConfirmRecipientPage({ search }: { search: URLSearchParams }) {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<MailRecipientConfirmResponse | null>(null);
  const token = useLinkToken(search, '/confirm-recipient', () => {
    setError(null);
    setDone(null);
  });

  const confirm = async () => {
    setBusy(true);
    setError(null);
    const result = await api.call('mailRecipientsConfirm', { body: { token }, allowUnauthenticated: true });
    setBusy(false);
    if (result.ok) setDone(result.data);
    else if (result.kind === 'http_error' && result.status === 401) setError('This link has expired or was already used.');
    else setError(describeFailure(result));
  };

  return (
    <SignInCard title="Confirm notifications">
      {done ? (
        <p data-testid="confirm-recipient-done">
          <strong>{done.address}</strong> now receives the notifications of <strong>{done.workspace.name}</strong>.
        </p>
      ) : !token ? (
        <div className="notice notice-error" role="alert" data-testid="confirm-recipient-error">
          This page needs the link Outpost emailed you.
        </div>
      ) : (
        <div className="form" data-testid="confirm-recipient">
          <p className="muted">Receive this workspace's notifications at this address?</p>
          {error && (
            <div className="notice notice-error" role="alert" data-testid="confirm-recipient-error">
              {error}
            </div>
          )}
          <button
            type="button"
            className="button button-primary"
            disabled={busy}
            onClick={() => void confirm()}
            data-testid="confirm-recipient-submit"
          >
            {busy ? 'Confirming…' : 'Confirm'}
          </button>
        </div>
      )}
    </SignInCard>
  );
}
