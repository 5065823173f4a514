import {
  type OrganisationRole,
  type OrganisationToken,
  type OrganisationTokenCreateResponse,
  OrganisationTokenScope,
  TOKEN_SCOPE_MAKERS,
  TOKENS_PER_ORGANISATION,
} from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { api } from '../api/instance.js';
import { CopyField } from '../components/copy-field.js';
import { CredentialCells, CredentialTable, useRevoke } from '../components/credential-table.js';
import { TextInput } from '../components/form-field.js';
import { useNow } from '../hooks/use-now.js';
import { useResource } from '../hooks/use-resource.js';
import { useSubmit } from '../hooks/use-submit.js';
import { localToIso } from '../lib/audit-log.js';
import { scimBaseUrl } from '../lib/group-roles.js';

/** Where a token stands: revoked and expired ones are kept in the list but refused by the API. */
function tokenState(token: OrganisationToken, now: number): 'revoked' | 'expired' | 'live' {
  if (token.revokedAt) return 'revoked';
  if (token.expiresAt && Date.parse(token.expiresAt) <= now) return 'expired';
  return 'live';
}

/** What each scope lets a token do, beside its checkbox. */
export const SCOPE_MEANING: Record<OrganisationTokenScope, string> = {
  'audit:read': 'reads the audit export and chain heads',
  'usage:read': 'reads the usage figures and CSV',
  scim: "lets the company's directory provision people and groups (SCIM), and nothing else",
};

/**
 * The organisation's tokens, which read its audit export or its usage without a person's session (a
 * SIEM's pull, a chargeback job) or let its identity provider provision it (SCIM): owners and admins
 * make them with the scopes their role may hold (only owners make scim tokens) and revoke them; the
 * token itself is shown once, when it is made.
 */
export function OrganisationTokensSection({ organisation, callerRole }: { organisation: string; callerRole: OrganisationRole }) {
  const tokens = useResource(
    (signal) => api.call('organisationTokensList', { params: { org: organisation }, signal }),
    [organisation],
  );
  const [created, setCreated] = useState<OrganisationTokenCreateResponse | null>(null);
  const revocation = useRevoke((id) => api.call('organisationTokensRevoke', { params: { org: organisation, id } }), tokens);
  const now = useNow(30_000);

  const live = tokens.data?.items.filter((t) => tokenState(t, now) === 'live').length ?? 0;

  return (
    <section className="panel" aria-label="Tokens">
      <div className="panel-header">
        <h2>Tokens</h2>
        {tokens.data && (
          <span className="muted small" data-testid="organisation-tokens-live">
            {live} of {TOKENS_PER_ORGANISATION} live
          </span>
        )}
      </div>
      <MakeTokenForm
        organisation={organisation}
        callerRole={callerRole}
        onMade={(response) => {
          setCreated(response);
          void tokens.reload();
        }}
      />
      {created && (
        <CreatedOrganisationToken
          organisation={organisation}
          created={created}
          origin={api.baseUrl || window.location.origin}
          onDone={() => setCreated(null)}
        />
      )}
      <CredentialTable
        list={tokens}
        error={revocation.error}
        empty="No organisation tokens."
        testId="organisation-tokens"
        kind="Scopes"
        secret="Token"
        row={(token) => {
          const state = tokenState(token, now);
          return (
            <tr
              key={token.id}
              data-testid="organisation-token-row"
              data-token-name={token.name}
              data-state={state}
              className={state === 'live' ? '' : 'row-revoked'}
            >
              <td className="strong">{token.name}</td>
              <td>
                <span className="scope-list">
                  {token.scopes.map((scope) => (
                    <code key={scope} data-testid="organisation-token-scope">
                      {scope}
                    </code>
                  ))}
                </span>
              </td>
              <CredentialCells credential={token} now={now} lastUsedTestId="organisation-token-last-used" />
              <td className="num">
                {state === 'live' ? (
                  revocation.button(token.id, 'organisation-token-revoke')
                ) : (
                  <span className="pill pill-offline" data-testid="organisation-token-state">
                    {state === 'revoked' ? 'Revoked' : 'Expired'}
                  </span>
                )}
              </td>
            </tr>
          );
        }}
      />
    </section>
  );
}

/** Who may make a token with the scope, said beside a scope the caller may not choose. */
function makers(scope: OrganisationTokenScope): string {
  const roles = TOKEN_SCOPE_MAKERS[scope];
  return roles.length === 1 ? `only ${roles[0]}s make these` : `only ${roles.join(' and ')}s make these`;
}

function MakeTokenForm({
  organisation,
  callerRole,
  onMade,
}: {
  organisation: string;
  callerRole: OrganisationRole;
  onMade: (made: OrganisationTokenCreateResponse) => void;
}) {
  // A token never outranks its maker: the server refuses a scope the caller's role may not hold.
  const allowed = (scope: OrganisationTokenScope) => TOKEN_SCOPE_MAKERS[scope].includes(callerRole);
  const [name, setName] = useState('');
  const [expires, setExpires] = useState('');
  const [scopes, setScopes] = useState<OrganisationTokenScope[]>(['audit:read']);
  const { error, busy, submit } = useSubmit();
  const choose = (scope: OrganisationTokenScope, chosen: boolean) =>
    // Kept in the contract's order, so the list and the request name scopes alike.
    setScopes((current) => OrganisationTokenScope.options.filter((s) => (s === scope ? chosen : current.includes(s))));

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    const expiresAt = localToIso(expires);
    await submit(
      () =>
        api.call('organisationTokensCreate', {
          params: { org: organisation },
          body: { name: name.trim(), scopes, ...(expiresAt ? { expiresAt } : {}) },
        }),
      (made) => {
        setName('');
        setExpires('');
        setScopes(['audit:read']);
        onMade(made);
      },
    );
  };

  return (
    <form className="inline-form" onSubmit={(e) => void onSubmit(e)} data-testid="organisation-token-form">
      <TextInput
        placeholder="Token name, e.g. siem-pull"
        value={name}
        maxLength={100}
        onChange={setName}
        aria-label="Token name"
        testId="organisation-token-name"
      />
      <label className="field-inline">
        <span className="field-label">expires (optional)</span>
        <TextInput
          type="datetime-local"
          value={expires}
          onChange={setExpires}
          aria-label="Expires"
          testId="organisation-token-expires"
        />
      </label>
      <fieldset className="scope-choice" data-testid="organisation-token-scopes">
        <legend className="field-label">scopes</legend>
        {OrganisationTokenScope.options.map((scope) => (
          <label key={scope} className="check-row" title={allowed(scope) ? SCOPE_MEANING[scope] : makers(scope)}>
            <input
              type="checkbox"
              checked={scopes.includes(scope)}
              disabled={!allowed(scope)}
              onChange={(e) => choose(scope, e.target.checked)}
              aria-describedby={`organisation-token-scope-${scope.replace(':', '-')}`}
              data-testid="organisation-token-scope-choice"
              data-scope={scope}
            />
            <code>{scope}</code>
            <span id={`organisation-token-scope-${scope.replace(':', '-')}`} className="visually-hidden">
              {SCOPE_MEANING[scope]}
            </span>
            {!allowed(scope) && (
              <span className="muted small" data-testid="organisation-token-scope-makers">
                {makers(scope)}
              </span>
            )}
          </label>
        ))}
        {scopes.length === 0 && <span className="field-error">Choose at least one scope.</span>}
      </fieldset>
      <button
        type="submit"
        className="button button-primary"
        disabled={busy || !name.trim() || scopes.length === 0}
        data-testid="organisation-token-create"
      >
        Make token
      </button>
      {error && (
        <span className="field-error" role="alert" data-testid="organisation-token-error">
          {error}
        </span>
      )}
    </form>
  );
}

/**
 * The new token, shown this once (the server keeps only its hash), with how a SIEM, a billing job
 * and the CLI use it; a `scim` token comes with the SCIM base URL, the other half of what an identity
 * provider is given.
 */
export function CreatedOrganisationToken({
  organisation,
  created,
  origin,
  onDone,
}: {
  organisation: string;
  created: OrganisationTokenCreateResponse;
  /** Where the browser reached this server: the SCIM base URL is an absolute one. */
  origin: string;
  onDone: () => void;
}) {
  const { scopes } = created.organisationToken;
  const auditPath = api.url('organisationAuditExport', { params: { org: organisation } });
  const usagePath = api.url('organisationUsage', { params: { org: organisation } });
  const usageExportPath = api.url('organisationUsageExport', { params: { org: organisation } });

  return (
    <div className="created-key" role="status" data-testid="organisation-token-created">
      <p>
        <strong>{created.organisationToken.name}</strong> ({scopes.join(', ')}) was made. Copy the token now: it will not be shown
        again.
      </p>
      <CopyField
        value={created.token}
        label="New organisation token"
        what="token"
        testId="organisation-token-secret"
        copyTestId="organisation-token-copy"
        done={{ onClick: onDone, testId: 'organisation-token-done' }}
      />
      {scopes.includes('scim') && (
        <div className="created-key-extra" data-testid="organisation-token-scim">
          <p className="small">
            Give your identity provider (Okta, Microsoft Entra ID and the like) this SCIM base URL, with the token as its bearer
            token. The groups it provisions appear under Groups, where you choose the role each grants in each workspace.
          </p>
          <CopyField
            value={scimBaseUrl(origin, organisation)}
            label="SCIM base URL"
            what="SCIM base URL"
            testId="organisation-token-scim-url"
            copyTestId="organisation-token-scim-url-copy"
          />
        </div>
      )}
      <div className="small" data-testid="organisation-token-usage">
        {scopes.includes('audit:read') && (
          <p>
            A SIEM pulls <code>GET {auditPath}</code> with <code>Authorization: Bearer &lt;token&gt;</code>;{' '}
            <code>OUTPOST_ORGANISATION_TOKEN=&lt;token&gt; outpost audit verify --organisation {organisation}</code> verifies the
            chain (with <code>OUTPOST_API_URL</code> set to this server).
          </p>
        )}
        {scopes.includes('usage:read') && (
          <p>
            A billing or chargeback job reads <code>GET {usageExportPath}?from=YYYY-MM&amp;to=YYYY-MM</code> (CSV) or{' '}
            <code>GET {usagePath}</code> (JSON) with <code>Authorization: Bearer &lt;token&gt;</code>.
          </p>
        )}
      </div>
    </div>
  );
}
