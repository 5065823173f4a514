import type { EmailConfirmResponse } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { NewPasswordForm, passwordRefusal } from '../components/new-password-fields.js';
import { SignInCard } from '../components/sign-in-card.js';
import { useLinkToken } from '../hooks/use-link-token.js';
import { useNewPassword } from '../hooks/use-new-password.js';
import { href } from '../router.js';

/**
 * Uses a link Outpost emailed (`#/confirm-email?token=…`): confirms the address and accepts the
 * invitation it came with. An account whose address was not confirmed before must choose a new
 * password (one an admin set up may be known to them); a confirmed one may keep its password.
 */
export function ConfirmEmailPage({ search }: { search: URLSearchParams }) {
  const passwordForm = useNewPassword();
  const { password, setError, send, clear } = passwordForm;
  const [needsPassword, setNeedsPassword] = useState(false);
  const [done, setDone] = useState<EmailConfirmResponse | null>(null);
  const token = useLinkToken(search, '/confirm-email', () => {
    clear();
    setDone(null);
  });

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const result = await send(
      () => api.call('authEmailConfirm', { body: password ? { token, password } : { token }, allowUnauthenticated: true }),
      needsPassword,
    );
    if (!result) return;
    if (result.ok) {
      setDone(result.data);
      return;
    }
    const refusal = passwordRefusal(result);
    if (refusal) {
      setNeedsPassword(true);
      setError(
        password
          ? `Password: ${refusal}.`
          : 'Your address was not confirmed before, so choose a new password: one set up for you by an admin is replaced.',
      );
    } else if (result.kind === 'http_error' && result.status === 401) {
      setError('This link has expired or was already used. Ask for a new one.');
    } else {
      setError(describeFailure(result));
    }
  };

  return (
    <SignInCard title="Confirm your address">
      {done ? (
        <div className="form" data-testid="confirm-email-done">
          <p>
            <strong>{done.email}</strong> is confirmed{done.passwordSet ? ' and your new password is set' : ''}.
          </p>
          {done.joined ? (
            <p data-testid="confirm-email-joined">
              You joined <strong>{done.joined.name}</strong> ({done.joined.slug}).
            </p>
          ) : null}
          <a
            className="button button-primary"
            href={href('/sign-in', done.joined ? { workspace: done.joined.slug } : {})}
            data-testid="confirm-email-sign-in"
          >
            Sign in{done.joined ? ` to ${done.joined.name}` : ''}
          </a>
        </div>
      ) : !token ? (
        <div className="notice notice-error" role="alert" data-testid="confirm-email-error">
          This page needs the link Outpost emailed you.
        </div>
      ) : (
        <NewPasswordForm
          testId="confirm-email"
          intro={
            <p className="muted">
              {needsPassword
                ? 'Choose the password you will sign in with.'
                : 'Choose a new password, or leave both fields empty to keep the one you have.'}
            </p>
          }
          state={passwordForm}
          label="Confirm"
          busyLabel="Confirming…"
          onSubmit={onSubmit}
        />
      )}
    </SignInCard>
  );
}
