import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { NewPasswordForm } from '../components/new-password-fields.js';
import { SignInCard } from '../components/sign-in-card.js';
import { useLinkToken } from '../hooks/use-link-token.js';
import { useNewPassword } from '../hooks/use-new-password.js';
import { href } from '../router.js';

/** Sets a first password with the one-time setup token an admin handed over (`#/set-password?token=…`). */
export function SetPasswordPage({ search }: { search: URLSearchParams }) {
  const passwordForm = useNewPassword();
  const { password, setError, send, clear } = passwordForm;
  const [done, setDone] = useState(false);
  const token = useLinkToken(search, '/set-password', () => {
    clear();
    setDone(false);
  });

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const result = await send(() => api.call('authPasswordSetup', { body: { token, password }, allowUnauthenticated: true }));
    if (!result) return;
    if (result.ok) {
      setDone(true);
      return;
    }
    if (result.kind === 'http_error' && (result.status === 401 || result.status === 404 || result.status === 410)) {
      setError('This setup link has expired or was already used. Ask an admin of the workspace for a new one.');
    } else {
      setError(describeFailure(result));
    }
  };

  return (
    <SignInCard title="Set your password">
      {done ? (
        <div className="form" data-testid="set-password-done">
          <p>Your password is set.</p>
          <a className="button button-primary" href={href('/sign-in')}>
            Sign in
          </a>
        </div>
      ) : !token ? (
        <div className="notice notice-error" role="alert" data-testid="set-password-error">
          This page needs the setup link an admin of the workspace gave you.
        </div>
      ) : (
        <NewPasswordForm
          testId="set-password"
          state={passwordForm}
          label="Set password"
          busyLabel="Saving…"
          onSubmit={onSubmit}
        />
      )}
    </SignInCard>
  );
}
