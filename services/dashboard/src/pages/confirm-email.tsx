import type { EmailConfirmResponse } from '@outpost/sdk/contracts';
import { type FormEvent, useEffect, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { NewPasswordFields } from '../components/new-password-fields.js';
import { href, navigate } from '../router.js';

/**
 * Uses a link Outpost emailed (`#/confirm-email?token=…`): confirms the address and accepts the
 * invitation it came with. An account whose address was not confirmed before must choose a new
 * password (one an admin set up may be known to them); a confirmed one may keep its password.
 */
export function ConfirmEmailPage({ search }: { search: URLSearchParams }) {
  const tokenInAddress = search.get('token');
  const [token, setToken] = useState(() => tokenInAddress ?? '');
  const [password, setPassword] = useState('');
  const [repeat, setRepeat] = useState('');
  const [needsPassword, setNeedsPassword] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState<EmailConfirmResponse | null>(null);

  // As on the password page: the token leaves the address bar at once and is kept in memory only.
  useEffect(() => {
    if (!tokenInAddress) return;
    setToken(tokenInAddress);
    setPassword('');
    setRepeat('');
    setError(null);
    setDone(null);
    navigate('/confirm-email', undefined, { replace: true });
  }, [tokenInAddress]);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    if (needsPassword && password.length < 1) {
      setError('Choose a password.');
      return;
    }
    if (password !== repeat) {
      setError('The two passwords differ.');
      return;
    }
    setBusy(true);
    setError(null);
    const result = await api.call('authEmailConfirm', {
      body: password ? { token, password } : { token },
      allowUnauthenticated: true,
    });
    setBusy(false);
    if (result.ok) {
      setDone(result.data);
      return;
    }
    const passwordIssue =
      result.kind === 'http_error' ? result.problem?.errors?.find((issue) => issue.path === 'body.password') : undefined;
    if (passwordIssue) {
      setNeedsPassword(true);
      setError(
        password
          ? `Password: ${passwordIssue.message}.`
          : 'Your address was not confirmed before, so choose a new password: one set up for you by an admin is replaced.',
      );
    } else if (result.kind === 'http_error' && result.status === 401) {
      setError('This link has expired or was already used. Ask for a new one.');
    } else {
      setError(describeFailure(result));
    }
  };

  return (
    <div className="sign-in">
      <div className="sign-in-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Outpost
        </div>
        <h1>Confirm your address</h1>
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
          <form className="form" onSubmit={(e) => void onSubmit(e)} data-testid="confirm-email">
            <p className="muted">
              {needsPassword
                ? 'Choose the password you will sign in with.'
                : 'Choose a new password, or leave both fields empty to keep the one you have.'}
            </p>
            <NewPasswordFields
              password={password}
              repeat={repeat}
              onPassword={setPassword}
              onRepeat={setRepeat}
              testId="confirm-email"
            />
            {error && (
              <div className="notice notice-error" role="alert" data-testid="confirm-email-error">
                {error}
              </div>
            )}
            <button type="submit" className="button button-primary" disabled={busy} data-testid="confirm-email-submit">
              {busy ? 'Confirming…' : 'Confirm'}
            </button>
          </form>
        )}
      </div>
    </div>
  );
}
