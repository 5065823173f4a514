import type { OrganisationDomain, OrganisationSso } from '@outpost/sdk/contracts';
import { useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { formatDateTime } from '../lib/format.js';

/**
 * The allowed domains, each with its proof. A domain signs nobody in until a TXT record at its DNS
 * provider proves the organisation holds it (otherwise an organisation could make accounts at a
 * company's addresses it does not belong to), so an unproven one shows the record to publish and,
 * for owners, the button that has the API look it up. A refusal (the record not served yet, or
 * another organisation holding the domain) is said under that domain, in the API's words, which
 * name the record.
 */
export function OrgSsoDomains({
  organisation,
  domains,
  owner,
  onVerified,
}: {
  organisation: string;
  domains: readonly OrganisationDomain[];
  owner: boolean;
  onVerified: (sso: OrganisationSso) => void | Promise<void>;
}) {
  const [busy, setBusy] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});

  const verify = async (domain: string) => {
    setBusy(domain);
    const result = await api.call('organisationSsoDomainVerify', { params: { org: organisation, domain } });
    setBusy(null);
    if (!result.ok) {
      setErrors((e) => ({ ...e, [domain]: describeFailure(result) }));
      return;
    }
    setErrors(({ [domain]: _dropped, ...rest }) => rest);
    await onVerified(result.data);
  };

  return (
    <ul className="org-sso-domains" data-testid="org-sso-domains">
      {domains.map((d) => (
        <li key={d.domain} data-testid="org-sso-domain" data-domain={d.domain} data-verified={String(d.verified)}>
          <span className="strong">{d.domain}</span>{' '}
          {d.verified ? (
            <>
              <span className="pill pill-online">verified</span>
              {d.verifiedAt && <span className="muted small"> {formatDateTime(d.verifiedAt)}</span>}
            </>
          ) : (
            <span className="pill pill-paused">not verified</span>
          )}
          {!d.verified && (
            <div className="org-sso-domain-proof">
              <p className="muted small">
                Nobody at this domain signs in until it is verified. Publish this TXT record at the domain's DNS provider
                {owner ? ', then verify it' : ''}:
              </p>
              <dl className="settings-list org-sso-record">
                <dt>Name</dt>
                <dd>
                  <code data-testid="org-sso-domain-record-name">{d.recordName}</code>
                </dd>
                <dt>Value</dt>
                <dd>
                  <code data-testid="org-sso-domain-record-value">{d.recordValue}</code>
                </dd>
              </dl>
              {owner && (
                <button
                  type="button"
                  className="button"
                  disabled={busy !== null}
                  onClick={() => void verify(d.domain)}
                  data-testid="org-sso-domain-verify"
                >
                  {busy === d.domain ? 'Looking it up…' : 'Verify'}
                  <span className="visually-hidden"> {d.domain}</span>
                </button>
              )}
              {errors[d.domain] && (
                <p className="field-error" role="alert" data-testid="org-sso-domain-error">
                  {errors[d.domain]}
                </p>
              )}
            </div>
          )}
        </li>
      ))}
    </ul>
  );
}
