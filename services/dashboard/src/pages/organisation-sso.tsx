import type { OrganisationSso } from '@outpost/sdk/contracts';
import { type ReactNode, useState } from 'react';
import { type ApiResult, describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { Notice } from '../components/notice.js';
import { useResource } from '../hooks/use-resource.js';
import { formatDateTime } from '../lib/format.js';
import type { GroupWorkspace } from '../lib/group-roles.js';
import { settingsSavedText, signInLink } from '../lib/organisation-sso.js';
import { OrgSsoDomains } from './organisation-sso-domains.js';
import { OrgSsoForm } from './organisation-sso-form.js';
import { GroupMappingEditor } from './organisation-sso-mapping.js';
import { SsoChangeActions, SsoClientFacts, SsoRedirectFact } from './sso-provider-form.js';

/** The organisation's provider, or null when it has none. */
function readSso(organisation: string, signal: AbortSignal): Promise<ApiResult<OrganisationSso | null>> {
  return api.call('organisationSsoGet', { params: { org: organisation }, signal });
}

/** What turning it off does, said before it is done: setting it up again restores neither the mapping nor the sessions. */
const OFF_WARNING =
  "Turning it off ends the roles its groups claim granted and the sessions it opened. People then sign in with their passwords or a workspace's own single sign-on.";
const OFF_DONE = 'Single sign-on is off: the roles its groups claim granted have ended, and so have the sessions it opened.';

/**
 * The organisation's own single sign-on for its owners, admins and auditors: the OpenID Connect
 * provider its people sign in to any of its workspaces with, the redirect URI to register there, its
 * domains and their proofs, the link to share, and the mapping of the ID token's groups to workspace
 * roles. Only owners change
 * it, as the API allows: whoever runs the provider can sign in as anyone of the organisation, its
 * owners included, so choosing it is an owner's power. Admins and auditors read it.
 */
export function OrganisationSsoSection({
  organisation,
  workspaces,
  owner,
}: {
  organisation: string;
  workspaces: GroupWorkspace[];
  owner: boolean;
}) {
  const config = useResource((signal) => readSso(organisation, signal), [organisation]);
  const [editing, setEditing] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [status, setStatus] = useState('');

  const turnOff = async () => {
    const result = await api.call('organisationSsoDelete', { params: { org: organisation } });
    setError(result.ok ? null : describeFailure(result));
    setStatus(result.ok ? OFF_DONE : '');
    await config.reload();
  };

  const current = config.data;
  return (
    <section className="panel" aria-label="Single sign-on" data-testid="org-sso">
      <div className="panel-header">
        <h2>Single sign-on</h2>
        <span className="muted small">one OpenID Connect provider for all the organisation's workspaces</span>
      </div>
      {(error ?? config.error) && <Notice>{error ?? config.error}</Notice>}
      {current && !owner && <Notice kind="info">Only the organisation's owners change its single sign-on.</Notice>}
      {!config.loading && !config.error && !current && !editing && <OrgSsoEmpty owner={owner} onSetUp={() => setEditing(true)} />}
      {current && !editing && (
        <>
          <OrgSsoSummary
            sso={current}
            domains={
              <OrgSsoDomains
                organisation={organisation}
                domains={current.domains}
                owner={owner}
                onVerified={async () => {
                  setStatus('');
                  await config.reload();
                }}
              />
            }
          />
          {owner && (
            <SsoChangeActions
              testId="org-sso"
              effect={OFF_WARNING}
              effectTestId="org-sso-turn-off-effect"
              onChange={() => {
                setEditing(true);
                setStatus('');
              }}
              onTurnOff={() => void turnOff()}
            />
          )}
        </>
      )}
      {editing && (
        <OrgSsoForm
          organisation={organisation}
          current={current}
          onCancel={() => setEditing(false)}
          onSaved={async (saved) => {
            setEditing(false);
            setError(null);
            setStatus(settingsSavedText(saved, current === null));
            await config.reload();
          }}
        />
      )}
      <p className="muted small org-sso-status" role="status" aria-live="polite" data-testid="org-sso-status">
        {status}
      </p>
      {current && !editing && (
        <GroupMappingEditor
          organisation={organisation}
          current={current}
          workspaces={workspaces}
          owner={owner}
          onSaved={async () => {
            // The mapping's own status line says what its save did; the provider's would be stale.
            setStatus('');
            await config.reload();
          }}
        />
      )}
    </section>
  );
}

/** What the section says while the organisation has no provider, with the way to set one up for its owners. */
export function OrgSsoEmpty({ owner, onSetUp }: { owner: boolean; onSetUp: () => void }) {
  return (
    <div className="sso-off" data-testid="org-sso-off">
      <p className="muted">
        The organisation has no single sign-on. Connect its OpenID Connect provider (Okta, Entra ID, Google Workspace, Keycloak…)
        so that its people sign in to any of its workspaces through it, with workspace roles from the groups its ID tokens list.
      </p>
      {owner ? (
        <button type="button" className="button button-primary" onClick={onSetUp} data-testid="org-sso-set-up">
          Set up single sign-on
        </button>
      ) : (
        <p className="muted small">The organisation's owners set it up.</p>
      )}
    </div>
  );
}

/**
 * What is configured: the provider, whom it is trusted for, and what to register at it and share.
 * `domains` shows the allowed domains with their proofs (OrgSsoDomains).
 */
export function OrgSsoSummary({ sso, domains }: { sso: OrganisationSso; domains: ReactNode }) {
  return (
    <dl className="settings-list" data-testid="org-sso-summary">
      <SsoClientFacts testId="org-sso" provider={sso} />
      <dt>Email domains</dt>
      <dd>
        {domains}
        <div className="muted small">Only a verified address at one of these signs in, once its domain is verified.</div>
      </dd>
      <dt>Groups claim</dt>
      <dd>
        <code data-testid="org-sso-claim-value">{sso.groupsClaim}</code>
      </dd>
      <SsoRedirectFact testId="org-sso" redirectUri={sso.redirectUri} />
      <dt>Sign-in link</dt>
      <dd>
        <code data-testid="org-sso-sign-in-link">{signInLink(sso)}</code>
        <div className="muted small">
          Share it with the organisation's people; the sign-in page also takes the organisation's name.
        </div>
      </dd>
      <dt>Changed</dt>
      <dd>{formatDateTime(sso.updatedAt)}</dd>
    </dl>
  );
}
