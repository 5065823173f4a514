import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { NewPasswordForm, passwordRefusal } from '../components/new-password-fields.js';
import { AccountEmailField, SignInCard } from '../components/sign-in-card.js';
import { useLinkToken } from '../hooks/use-link-token.js';
import { useNewPassword } from '../hooks/use-new-password.js';
import { href } from '../router.js';

/**
 * Password reset. Without a token (`#/reset-password`, from "Forgot password?" on the sign-in page)
 * it asks for a link by address, and says the same whatever the address; with the token of the
 * emailed link (`#/reset-password?token=…`) it sets the new password, which also confirms the address
 * and ends every session of the account.
 */
export function ResetPasswordPage({ search }: { search: URLSearchParams }) {
  const [email, setEmail] = useState(() => search.get('email') ?? '');
  const passwordForm = useNewPassword();
  const { password, error, setError, busy, run, send, clear } = passwordForm;
  const [asked, setAsked] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const token = useLinkToken(search, '/reset-password', () => {
    clear();
    setDone(null);
  });

  const onAsk = async (e: FormEvent) => {
    e.preventDefault();
    const address = email.trim();
    if (!address) {
      setError('Enter the email address of your account.');
      return;
    }
    const result = await run(() => api.call('authPasswordReset', { body: { email: address }, allowUnauthenticated: true }));
    if (result.ok) setAsked(result.data.message);
    else if (result.kind === 'http_error' && result.status === 429)
      setError('Too many requests for this address; try again later.');
    else setError(describeFailure(result));
  };

  const onReset = async (e: FormEvent) => {
    e.preventDefault();
    const result = await send(() =>
      api.call('authPasswordResetConfirm', { body: { token, password }, allowUnauthenticated: true }),
    );
    if (!result) return;
    if (result.ok) {
      setDone(result.data.email);
      return;
    }
    const refusal = passwordRefusal(result);
    if (refusal) setError(`Password: ${refusal}.`);
    else if (result.kind === 'http_error' && result.status === 401) {
      setError('This link has expired, was already used, or a newer one was sent. Ask for a new one.');
    } else setError(describeFailure(result));
  };

  const errorNotice = error && (
    <div className="notice notice-error" role="alert" data-testid="reset-password-error">
      {error}
    </div>
  );

  return (
    <SignInCard title="Reset your password">
      {done ? (
        <div className="form" data-testid="reset-password-done">
          <p>
            The password of <strong>{done}</strong> is set, and the address is confirmed. Every session of the account ended.
          </p>
          <a className="button button-primary" href={href('/sign-in')} data-testid="reset-password-sign-in">
            Sign in
          </a>
        </div>
      ) : token ? (
        <NewPasswordForm
          testId="reset-password"
          intro={<p className="muted">Choose the password you will sign in with.</p>}
          state={passwordForm}
          label="Set password"
          busyLabel="Saving…"
          onSubmit={onReset}
        />
      ) : asked ? (
        <div className="form" data-testid="reset-password-asked">
          <p>{asked}</p>
          <a className="button" href={href('/sign-in')}>
            Back to sign-in
          </a>
        </div>
      ) : (
        <form className="form" onSubmit={(e) => void onAsk(e)} data-testid="reset-password-ask">
          <p className="muted">We email a link to choose a new password to the address of your account.</p>
          <AccountEmailField value={email} onChange={setEmail} testId="reset-password-email" />
          {errorNotice}
          <button type="submit" className="button button-primary" disabled={busy} data-testid="reset-password-request">
            {busy ? 'Sending…' : 'Email me a link'}
          </button>
          <a className="small" href={href('/sign-in')}>
            Back to sign-in
          </a>
        </form>
      )}
    </SignInCard>
  );
}
