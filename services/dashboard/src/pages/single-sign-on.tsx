import { type OidcConfig, type OidcConfigRequest, SsoDefaultRole } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { type ApiResult, describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { ConfirmTurnOff } from '../components/confirm-button.js';
import { Notice } from '../components/notice.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime } from '../lib/format.js';
import { parseDomains } from '../lib/organisation-sso.js';

type DefaultRole = NonNullable<OidcConfig['defaultRole']>;

/** Where the provider sends people back; the server reports its own public address once configured. */
const CALLBACK_PATH = '/api/v1/auth/oidc/callback';

/** The workspace's settings, or null when single sign-on is off. */
function readConfig(signal: AbortSignal): Promise<ApiResult<OidcConfig | null>> {
  return api.call('oidcConfigGet', { signal });
}

/** Where people of this workspace sign in: the dashboard's sign-in page with the workspace filled in. */
export function ssoSignInLink(origin: string, workspaceSlug: string): string {
  return `${origin}/#/sign-in?workspace=${encodeURIComponent(workspaceSlug)}`;
}

/**
 * Single sign-on through the workspace's OpenID Connect provider: what is configured, the redirect
 * URI to register at the provider, the link to hand to people, and the form that changes it.
 * Admins see the settings; only owners change them, as the API allows.
 */
export function SingleSignOnSection({ workspaceSlug, canChange }: { workspaceSlug: string | null; canChange: boolean }) {
  const config = useResource(readConfig, []);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const turnOff = async () => {
    const result = await api.call('oidcConfigDelete', {});
    setError(result.ok ? null : describeFailure(result));
    await config.reload();
  };

  const current = config.data;
  return (
    <section className="panel" aria-label="Single sign-on">
      <div className="panel-header">
        <h2>Single sign-on</h2>
      </div>
      {(error ?? config.error) && <Notice>{error ?? config.error}</Notice>}
      {!canChange && <Notice kind="info">Only owners change single sign-on.</Notice>}
      {!config.loading && !config.error && !current && !editing && (
        <div className="sso-off" data-testid="sso-off">
          <p className="muted">
            People sign in with a password. Connect an OpenID Connect provider (Okta, Entra ID, Google Workspace, Keycloak…) to
            let them sign in through it as well.
          </p>
          {canChange && (
            <button type="button" className="button button-primary" onClick={() => setEditing(true)} data-testid="sso-set-up">
              Set up single sign-on
            </button>
          )}
        </div>
      )}
      {current && !editing && (
        <>
          <dl className="settings-list" data-testid="sso-summary">
            <dt>Issuer</dt>
            <dd>
              <code data-testid="sso-issuer-value">{current.issuer}</code>
            </dd>
            <dt>Client</dt>
            <dd>
              <code>{current.clientId}</code>{' '}
              <span className="muted small">
                {current.hasClientSecret ? 'confidential (secret stored encrypted)' : 'public (PKCE only)'}
              </span>
            </dd>
            <dt>Redirect URI</dt>
            <dd>
              <code data-testid="sso-redirect-uri">{current.redirectUri}</code>
              <div className="muted small">Register this at the provider as the client's sign-in redirect.</div>
            </dd>
            <dt>New people</dt>
            <dd data-testid="sso-new-people">
              {current.defaultRole
                ? `join as ${current.defaultRole} when their verified email is at ${current.allowedDomains.join(', ')}`
                : 'members only: an admin adds each person first'}
            </dd>
            {workspaceSlug && (
              <>
                <dt>Sign-in link</dt>
                <dd>
                  <code data-testid="sso-sign-in-link">{ssoSignInLink(new URL(current.redirectUri).origin, workspaceSlug)}</code>
                </dd>
              </>
            )}
            <dt>Changed</dt>
            <dd>{formatDateTime(current.updatedAt)}</dd>
          </dl>
          {canChange && (
            <div className="actions">
              <button type="button" className="button" onClick={() => setEditing(true)} data-testid="sso-edit">
                Change
              </button>
              <ConfirmTurnOff
                testId="sso-turn-off"
                effect="People who joined through single sign-on have no password until they set one."
                onConfirm={() => void turnOff()}
              />
            </div>
          )}
        </>
      )}
      {editing && (
        <SsoForm
          current={current}
          onCancel={() => setEditing(false)}
          onSaved={() => {
            setEditing(false);
            setError(null);
            void config.reload();
          }}
        />
      )}
    </section>
  );
}

function SsoForm({ current, onCancel, onSaved }: { current: OidcConfig | null; onCancel: () => void; onSaved: () => void }) {
  const [issuer, setIssuer] = useState(current?.issuer ?? '');
  const [clientId, setClientId] = useState(current?.clientId ?? '');
  const [secret, setSecret] = useState('');
  const [publicClient, setPublicClient] = useState(current ? !current.hasClientSecret : false);
  const [defaultRole, setDefaultRole] = useState<DefaultRole | ''>(current?.defaultRole ?? '');
  const [domains, setDomains] = useState(current?.allowedDomains.join(', ') ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const allowedDomains = parseDomains(domains);
    if (!/^https?:\/\/\S+$/.test(issuer.trim())) {
      setError('Issuer: enter the provider’s issuer URL, e.g. https://login.example.com.');
      return;
    }
    if (!clientId.trim()) {
      setError('Client ID: enter the ID the provider gave this application.');
      return;
    }
    if (!publicClient && !secret && !current?.hasClientSecret) {
      setError('Client secret: enter it, or mark the client as public if the provider issued none.');
      return;
    }
    if (defaultRole && allowedDomains.length === 0) {
      setError('Email domains: name the domains whose people may join with the default role.');
      return;
    }
    const body: OidcConfigRequest = {
      issuer: issuer.trim(),
      clientId: clientId.trim(),
      defaultRole: defaultRole || null,
      allowedDomains: defaultRole ? allowedDomains : [],
      // left empty on a change: the stored secret stays
      ...(publicClient ? { clientSecret: null } : secret ? { clientSecret: secret } : {}),
    };
    setBusy(true);
    const result = await api.call('oidcConfigPut', { body });
    setBusy(false);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    setSecret('');
    onSaved();
  };

  return (
    <form className="form sso-form" onSubmit={(e) => void onSubmit(e)} data-testid="sso-form">
      <p className="muted small">
        Register this redirect URI at the provider first; it gives you the client ID and secret:{' '}
        <code data-testid="sso-form-redirect-uri">{current?.redirectUri ?? `${window.location.origin}${CALLBACK_PATH}`}</code>
      </p>
      <label className="field">
        <span className="field-label">Issuer</span>
        <input
          type="url"
          spellCheck={false}
          placeholder="https://login.example.com"
          value={issuer}
          maxLength={500}
          onChange={(e) => setIssuer(e.target.value)}
          data-testid="sso-issuer"
        />
        <span className="field-help">Exactly the issuer of the provider’s discovery document.</span>
      </label>
      <label className="field">
        <span className="field-label">Client ID</span>
        <input
          type="text"
          spellCheck={false}
          value={clientId}
          maxLength={500}
          onChange={(e) => setClientId(e.target.value)}
          data-testid="sso-client-id"
        />
      </label>
      <label className="field field-inline">
        <input
          type="checkbox"
          checked={publicClient}
          onChange={(e) => setPublicClient(e.target.checked)}
          data-testid="sso-public-client"
        />
        <span>Public client: the provider issued no secret (PKCE alone)</span>
      </label>
      {!publicClient && (
        <label className="field">
          <span className="field-label">Client secret</span>
          <input
            type="password"
            autoComplete="off"
            spellCheck={false}
            placeholder={current?.hasClientSecret ? 'unchanged' : ''}
            value={secret}
            maxLength={2000}
            onChange={(e) => setSecret(e.target.value)}
            data-testid="sso-client-secret"
          />
          <span className="field-help">Stored encrypted; never shown again.</span>
        </label>
      )}
      <label className="field">
        <span className="field-label">People not yet members</span>
        <select
          value={defaultRole}
          onChange={(e) => setDefaultRole(e.target.value as DefaultRole | '')}
          data-testid="sso-default-role"
        >
          <option value="">cannot sign in until an admin adds them</option>
          {SsoDefaultRole.options.map((r) => (
            <option key={r} value={r}>
              join as {r}
            </option>
          ))}
        </select>
      </label>
      {defaultRole && (
        <label className="field">
          <span className="field-label">Email domains</span>
          <input
            type="text"
            spellCheck={false}
            placeholder="example.com, example.org"
            value={domains}
            onChange={(e) => setDomains(e.target.value)}
            data-testid="sso-domains"
          />
          <span className="field-help">Only a verified email at one of these joins with the role above.</span>
        </label>
      )}
      {error && (
        <div className="notice notice-error" role="alert" data-testid="sso-error">
          {error}
        </div>
      )}
      <div className="actions">
        <button type="button" className="button button-quiet" onClick={onCancel}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={busy} data-testid="sso-save">
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}
