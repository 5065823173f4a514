import { type FormEvent, useEffect, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { navigate, parseHash } from '../router.js';

/** Where to go after signing in: only a path inside the dashboard, never another origin. */
function nextPath(search: URLSearchParams): { path: string; search: URLSearchParams } {
  const next = search.get('next');
  if (!next?.startsWith('/') || next.startsWith('/sign-in')) return { path: '/', search: new URLSearchParams() };
  const target = parseHash(next);
  return { path: target.path, search: target.search };
}

export function SignInPage({ search }: { search: URLSearchParams }) {
  const token = search.get('token');
  const [apiKey, setApiKey] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const exchanged = useRef<string | null>(null);

  const finish = () => {
    const next = nextPath(search);
    navigate(next.path, next.search, { replace: true });
  };

  const signIn = async (body: { token: string } | { apiKey: string } | { email: string; password: string }) => {
    setBusy(true);
    setError(null);
    const result =
      'email' in body
        ? await api.call('authPasswordSignIn', { body, allowUnauthenticated: true })
        : await api.call('authSessionCreate', { body, allowUnauthenticated: true });
    setBusy(false);
    if (result.ok) {
      finish();
      return;
    }
    if (result.kind === 'http_error' && result.status === 401) {
      setError(
        'token' in body
          ? 'This sign-in link has expired or was already used.'
          : 'email' in body
            ? 'This email and password were not accepted.'
            : 'This API key was not accepted.',
      );
    } else {
      setError(describeFailure(result));
    }
  };

  // biome-ignore lint/correctness/useExhaustiveDependencies: a one-time token is exchanged exactly once
  useEffect(() => {
    if (!token || exchanged.current === token) return;
    exchanged.current = token;
    // the token leaves the address bar at once, so it is not kept in history or shown on screen
    const rest = new URLSearchParams(search);
    rest.delete('token');
    navigate('/sign-in', rest, { replace: true });
    void signIn({ token });
  }, [token]);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    const key = apiKey.trim();
    if (!key) {
      setError('Paste an API key to sign in.');
      return;
    }
    void signIn({ apiKey: key });
  };

  const onPasswordSubmit = (e: FormEvent) => {
    e.preventDefault();
    const address = email.trim();
    if (!address || !password) {
      setError('Enter your email and password to sign in.');
      return;
    }
    void signIn({ email: address, password });
  };

  return (
    <div className="sign-in">
      <div className="sign-in-card">
        <div className="brand brand-large">
          <span className="brand-mark" aria-hidden="true" />
          Outpost
        </div>
        <h1>Sign in</h1>
        {busy && exchanged.current && !apiKey ? (
          <p className="muted" data-testid="sign-in-pending">
            Signing you in…
          </p>
        ) : (
          <p className="muted">
            Sign in with your email and password, open the sign-in link printed by the server, or paste an API key.
          </p>
        )}
        <form onSubmit={onPasswordSubmit} data-testid="sign-in-password-form" className="form">
          <label className="field">
            <span className="field-label">Email</span>
            <input
              type="email"
              autoComplete="username"
              spellCheck={false}
              value={email}
              maxLength={320}
              onChange={(e) => setEmail(e.target.value)}
              data-testid="sign-in-email"
            />
          </label>
          <label className="field">
            <span className="field-label">Password</span>
            <input
              type="password"
              autoComplete="current-password"
              value={password}
              maxLength={1024}
              onChange={(e) => setPassword(e.target.value)}
              data-testid="sign-in-password"
            />
          </label>
          <button type="submit" className="button button-primary" disabled={busy} data-testid="sign-in-password-submit">
            {busy ? 'Signing in…' : 'Sign in with password'}
          </button>
        </form>
        <p className="muted small sign-in-or">or with an API key</p>
        <form onSubmit={onSubmit} data-testid="sign-in-form" className="form">
          <label className="field">
            <span className="field-label">API key</span>
            <input
              type="password"
              autoComplete="off"
              spellCheck={false}
              placeholder="op_…"
              value={apiKey}
              onChange={(e) => setApiKey(e.target.value)}
              data-testid="sign-in-api-key"
            />
          </label>
          {error && (
            <div className="notice notice-error" role="alert" data-testid="sign-in-error">
              {error}
            </div>
          )}
          <button type="submit" className="button button-primary" disabled={busy} data-testid="sign-in-submit">
            {busy ? 'Signing in…' : 'Sign in with API key'}
          </button>
        </form>
      </div>
    </div>
  );
}
