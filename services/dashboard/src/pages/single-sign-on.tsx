import { type OidcConfig, type OidcConfigRequest, SsoDefaultRole } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { type ApiResult, describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { TextField } from '../components/form-field.js';
import { Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime } from '../lib/format.js';
import { type ClientDraft, callbackUri, clientErrors, clientSecretField, parseDomains } from '../lib/organisation-sso.js';
import { SsoChangeActions, SsoClientFacts, SsoProviderForm, SsoRedirectFact } from './sso-provider-form.js';

type DefaultRole = NonNullable<OidcConfig['defaultRole']>;

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
            <SsoClientFacts testId="sso" provider={current} />
            <SsoRedirectFact testId="sso" redirectUri={current.redirectUri} />
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
            <SsoChangeActions
              testId="sso"
              effect="People who joined through single sign-on have no password until they set one."
              onChange={() => setEditing(true)}
              onTurnOff={() => void turnOff()}
            />
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

/** How the single line under the form names the field of a check's first problem. */
const CLIENT_LABELS: Record<string, string> = { issuer: 'Issuer', clientId: 'Client ID', clientSecret: 'Client secret' };

function SsoForm({ current, onCancel, onSaved }: { current: OidcConfig | null; onCancel: () => void; onSaved: () => void }) {
  const [draft, setDraft] = useState<ClientDraft>(() => ({
    issuer: current?.issuer ?? '',
    clientId: current?.clientId ?? '',
    secret: '',
    publicClient: current ? !current.hasClientSecret : false,
  }));
  const [defaultRole, setDefaultRole] = useState<DefaultRole | ''>(current?.defaultRole ?? '');
  const [domains, setDomains] = useState(current?.allowedDomains.join(', ') ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const allowedDomains = parseDomains(domains);
    const [problem] = Object.entries(clientErrors(draft, current?.hasClientSecret ?? false));
    if (problem) {
      setError(`${CLIENT_LABELS[problem[0]]}: ${problem[1]?.[0]}.`);
      return;
    }
    if (defaultRole && allowedDomains.length === 0) {
      setError('Email domains: name the domains whose people may join with the default role.');
      return;
    }
    const body: OidcConfigRequest = {
      issuer: draft.issuer.trim(),
      clientId: draft.clientId.trim(),
      defaultRole: defaultRole || null,
      allowedDomains: defaultRole ? allowedDomains : [],
      ...clientSecretField(draft),
    };
    setBusy(true);
    const result = await api.call('oidcConfigPut', { body });
    setBusy(false);
    if (!result.ok) {
      setError(describeFailure(result));
      return;
    }
    setDraft((d) => ({ ...d, secret: '' }));
    onSaved();
  };

  return (
    <SsoProviderForm
      testId="sso"
      redirectUri={current?.redirectUri ?? callbackUri(window.location.origin)}
      draft={draft}
      onDraft={(change) => setDraft((d) => ({ ...d, ...change }))}
      errors={{}}
      hasStoredSecret={current?.hasClientSecret ?? false}
      secretHelp="Stored encrypted; never shown again."
      failure={error}
      busy={busy}
      onSubmit={onSubmit}
      onCancel={onCancel}
    >
      <label className="field">
        <span className="field-label">People not yet members</span>
        <select
          value={defaultRole}
          onChange={(e) => setDefaultRole(e.target.value as DefaultRole | '')}
          data-testid="sso-default-role"
        >
          <option value="">cannot sign in until an admin adds them</option>
          <Options values={SsoDefaultRole.options} label={(r) => `join as ${r}`} />
        </select>
      </label>
      {defaultRole && (
        <TextField
          label="Email domains"
          spellCheck={false}
          placeholder="example.com, example.org"
          value={domains}
          onChange={setDomains}
          help="Only a verified email at one of these joins with the role above."
          testId="sso-domains"
        />
      )}
    </SsoProviderForm>
  );
}
