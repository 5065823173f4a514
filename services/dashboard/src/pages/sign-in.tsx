import { Name } from '@outpost/sdk/contracts';
import { type FormEvent, useEffect, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { TextField } from '../components/form-field.js';
import { AccountEmailField, SignInCard } from '../components/sign-in-card.js';
import { href, navigate, parseHash } from '../router.js';

/** Where to go after signing in: only a path inside the dashboard, never another origin. */
function nextPath(search: URLSearchParams): { path: string; search: URLSearchParams } {
  const next = search.get('next');
  if (!next?.startsWith('/') || next.startsWith('/sign-in')) return { path: '/', search: new URLSearchParams() };
  const target = parseHash(next);
  return { path: target.path, search: target.search };
}

/** What the server's single sign-on redirects mean, as `?error=` on this page. */
const SSO_FAILURES: Record<string, string> = {
  sso_off: 'No workspace or organisation by that name signs in with single sign-on.',
  sso_state: 'This sign-in expired or was started in another browser. Please try again.',
  sso_unavailable: 'The identity provider could not be reached or is misconfigured. Try again, or ask an admin.',
  sso_rejected: 'The identity provider did not sign you in.',
  sso_not_member:
    'Single sign-on did not let you in: you are not a member of this workspace, or none of your groups grants you a workspace of the organisation. Ask an admin.',
  sso_busy: 'Too many sign-ins at once, from this address or into the organisation. Wait a minute and try again.',
};

/** Whose single sign-on this tab started last: the redirect back names the failure, not whose it was. */
type SsoKind = 'workspace' | 'organisation';

/** The failures that read differently for a workspace's single sign-on and an organisation's. */
const SSO_FAILURES_OF: Record<SsoKind, Record<string, string>> = {
  workspace: {
    sso_off: 'No workspace by that name signs in with single sign-on.',
    sso_not_member: 'You are not a member of this workspace yet. Ask an admin to add you.',
    sso_busy: 'Too many sign-in attempts from this address. Wait a minute and try again.',
  },
  organisation: {
    sso_off: 'No organisation by that name signs in with single sign-on.',
    sso_not_member:
      "The organisation's single sign-on did not let you in: none of your groups grants you one of its workspaces, your address is not at one of its verified domains, or your account exists outside the organisation (sign in with your password and accept its invitation first). Ask its owners.",
  },
};

/** The workspace and organisation last used for single sign-on in this browser: names, never credentials. */
const SSO_WORKSPACE_KEY = 'outpost.sso-workspace';
const SSO_ORGANISATION_KEY = 'outpost.sso-organisation';
/** Per tab, so that another tab's sign-in does not change what this one's failure says. */
const SSO_STARTED_KEY = 'outpost.sso-started';

function remembered(key: string): string {
  try {
    return window.localStorage.getItem(key) ?? '';
  } catch {
    return '';
  }
}

function startedKind(): SsoKind | null {
  try {
    const kind = window.sessionStorage.getItem(SSO_STARTED_KEY);
    return kind === 'workspace' || kind === 'organisation' ? kind : null;
  } catch {
    return null;
  }
}

/** Remembers the name for the next sign-in and whose sign-in this tab starts, then leaves for the server's start. */
function startSso(kind: SsoKind, slug: string, search: URLSearchParams): void {
  try {
    window.localStorage.setItem(kind === 'workspace' ? SSO_WORKSPACE_KEY : SSO_ORGANISATION_KEY, slug);
    window.sessionStorage.setItem(SSO_STARTED_KEY, kind);
  } catch {
    // storage may be off; the names are only a convenience, and a failure then reads for either
  }
  const next = nextPath(search);
  const returnTo = `${next.path}${next.search.size > 0 ? `?${next.search}` : ''}`;
  const start = kind === 'workspace' ? `/api/v1/auth/oidc/${encodeURIComponent(slug)}/start` : organisationStart(slug);
  window.location.assign(`${start}?returnTo=${encodeURIComponent(returnTo)}`);
}

/** Where a browser starts signing in with an organisation's provider. */
function organisationStart(slug: string): string {
  return `/api/v1/auth/oidc/organisations/${encodeURIComponent(slug)}/start`;
}

/** A failure from the server's redirect in words, for the single sign-on this tab started, if it knows which. */
function ssoFailureText(failure: string, kind: SsoKind | null): string {
  // own keys only: `__proto__` or `toString` in a crafted link must not reach the page as a value
  const own = (messages: Record<string, string>) => (Object.hasOwn(messages, failure) ? messages[failure] : undefined);
  return (
    (kind ? own(SSO_FAILURES_OF[kind]) : undefined) ?? own(SSO_FAILURES) ?? 'Single sign-on did not finish. Please try again.'
  );
}

export function SignInPage({ search }: { search: URLSearchParams }) {
  const token = search.get('token');
  const [apiKey, setApiKey] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [workspace, setWorkspace] = useState(() => search.get('workspace') ?? remembered(SSO_WORKSPACE_KEY));
  const [organisation, setOrganisation] = useState(() => search.get('organisation') ?? remembered(SSO_ORGANISATION_KEY));
  const [error, setError] = useState<string | null>(() => {
    const failure = search.get('error');
    return failure === null ? null : ssoFailureText(failure, startedKind());
  });
  const [busy, setBusy] = useState(false);
  // Shown once the server asks for it (an account that can sign in to several workspaces names one),
  // or when a link names the workspace, e.g. after accepting an invitation.
  const [askWorkspace, setAskWorkspace] = useState(() => search.has('workspace'));
  const exchanged = useRef<string | null>(null);

  const finish = () => {
    const next = nextPath(search);
    navigate(next.path, next.search, { replace: true });
  };

  const signIn = async (
    body: { token: string } | { apiKey: string } | { email: string; password: string; workspace?: string },
  ) => {
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
    if (
      'email' in body &&
      result.kind === 'http_error' &&
      result.status === 400 &&
      result.problem?.errors?.some((e) => e.path === 'body.workspace')
    ) {
      setAskWorkspace(true);
      setError(
        body.workspace === undefined
          ? 'Your account can sign in to more than one workspace. Name the one to sign in to.'
          : 'Enter the short name of the workspace, e.g. acme-data.',
      );
    } else if ('email' in body && result.kind === 'http_error' && result.status === 403) {
      setError('This account cannot sign in to that workspace.');
    } else if (result.kind === 'http_error' && result.status === 401) {
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

  // a failure reported by the server's redirect is shown once, not again on reload
  // biome-ignore lint/correctness/useExhaustiveDependencies: read once, when the page opens
  useEffect(() => {
    try {
      // read by the first render; a later failure in this tab is another sign-in's
      window.sessionStorage.removeItem(SSO_STARTED_KEY);
    } catch {
      // storage may be off
    }
    if (!search.has('error')) return;
    const rest = new URLSearchParams(search);
    rest.delete('error');
    navigate('/sign-in', rest, { replace: true });
  }, []);

  // Back from the provider's page the browser may restore this page as it was left: busy.
  useEffect(() => {
    const restored = (e: PageTransitionEvent) => {
      if (e.persisted) setBusy(false);
    };
    window.addEventListener('pageshow', restored);
    return () => window.removeEventListener('pageshow', restored);
  }, []);

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
    const slug = workspace.trim();
    if (askWorkspace && !Name.safeParse(slug).success) {
      setError('Enter the short name of the workspace, e.g. acme-data.');
      return;
    }
    void signIn(askWorkspace ? { email: address, password, workspace: slug } : { email: address, password });
  };

  const onSsoSubmit = (e: FormEvent) => {
    e.preventDefault();
    const slug = workspace.trim();
    if (!Name.safeParse(slug).success) {
      setError('Enter the name of your workspace, e.g. acme-data.');
      return;
    }
    setBusy(true);
    startSso('workspace', slug, search);
  };

  const onOrganisationSsoSubmit = (e: FormEvent) => {
    e.preventDefault();
    const slug = organisation.trim();
    if (!Name.safeParse(slug).success) {
      setError('Enter the short name of your organisation, e.g. acme.');
      return;
    }
    setBusy(true);
    startSso('organisation', slug, search);
  };

  return (
    <SignInCard title="Sign in">
      {busy && exchanged.current && !apiKey ? (
        <p className="muted" data-testid="sign-in-pending">
          Signing you in…
        </p>
      ) : (
        <p className="muted">
          Sign in with your email and password, through your workspace's or your organisation's single sign-on, with the sign-in
          link printed by the server, or with an API key.
        </p>
      )}
      {error && (
        <div className="notice notice-error" role="alert" data-testid="sign-in-error">
          {error}
        </div>
      )}
      <form onSubmit={onPasswordSubmit} data-testid="sign-in-password-form" className="form">
        <AccountEmailField value={email} onChange={setEmail} testId="sign-in-email" />
        <TextField
          label="Password"
          type="password"
          autoComplete="current-password"
          value={password}
          maxLength={1024}
          onChange={setPassword}
          testId="sign-in-password"
        />
        {askWorkspace && <WorkspaceField value={workspace} onChange={setWorkspace} testId="sign-in-password-workspace" />}
        <button type="submit" className="button button-primary" disabled={busy} data-testid="sign-in-password-submit">
          {busy ? 'Signing in…' : 'Sign in with password'}
        </button>
        <a
          className="small"
          href={href('/reset-password', email.trim() ? { email: email.trim() } : {})}
          data-testid="sign-in-forgot-password"
        >
          Forgot password?
        </a>
      </form>
      <p className="muted small sign-in-or">or with single sign-on</p>
      <form onSubmit={onSsoSubmit} data-testid="sign-in-sso-form" className="form">
        <WorkspaceField value={workspace} onChange={setWorkspace} testId="sign-in-sso-workspace" />
        <button type="submit" className="button" disabled={busy} data-testid="sign-in-sso-submit">
          Continue with single sign-on
        </button>
      </form>
      <p className="muted small sign-in-or">or through your organisation</p>
      <form onSubmit={onOrganisationSsoSubmit} data-testid="sign-in-org-sso-form" className="form">
        <TextField
          label="Your organisation"
          spellCheck={false}
          placeholder="acme"
          value={organisation}
          maxLength={100}
          onChange={setOrganisation}
          testId="sign-in-org-sso-organisation"
        />
        <button type="submit" className="button" disabled={busy} data-testid="sign-in-org-sso-submit">
          Continue with your organisation
        </button>
      </form>
      <p className="muted small sign-in-or">or with an API key</p>
      <form onSubmit={onSubmit} data-testid="sign-in-form" className="form">
        <TextField
          label="API key"
          type="password"
          autoComplete="off"
          spellCheck={false}
          placeholder="op_…"
          value={apiKey}
          onChange={setApiKey}
          testId="sign-in-api-key"
        />
        <button type="submit" className="button button-primary" disabled={busy} data-testid="sign-in-submit">
          {busy ? 'Signing in…' : 'Sign in with API key'}
        </button>
      </form>
    </SignInCard>
  );
}

/** The workspace's short name, which both the password and the single sign-on forms ask for. */
function WorkspaceField({ value, onChange, testId }: { value: string; onChange: (value: string) => void; testId: string }) {
  return (
    <TextField
      label="Workspace"
      autoComplete="organization"
      spellCheck={false}
      placeholder="acme-data"
      value={value}
      maxLength={100}
      onChange={onChange}
      testId={testId}
    />
  );
}
