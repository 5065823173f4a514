import type { OrganisationSso } from '@outpost/sdk/contracts';
import { type FormEvent, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import {
  callbackUri,
  DEFAULT_GROUPS_CLAIM,
  type FieldErrors as FieldErrorMap,
  placeErrors,
  problemErrors,
  type SettingsDraft,
  settingsDraft,
  settingsRequest,
} from '../lib/organisation-sso.js';
import { SsoField, SsoProviderForm } from './sso-provider-form.js';

/** The provider's settings, sent without a mapping so that the API keeps the one it has. */
export function OrgSsoForm({
  organisation,
  current,
  onCancel,
  onSaved,
}: {
  organisation: string;
  current: OrganisationSso | null;
  onCancel: () => void;
  onSaved: (sso: OrganisationSso) => Promise<void>;
}) {
  const [draft, setDraft] = useState<SettingsDraft>(() => settingsDraft(current));
  const [errors, setErrors] = useState<FieldErrorMap>({});
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const set = <K extends keyof SettingsDraft>(key: K, value: SettingsDraft[K]) => setDraft((d) => ({ ...d, [key]: value }));

  const onSubmit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(null);
    const request = settingsRequest(draft, current);
    if (!request.ok) {
      setErrors(request.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    const result = await api.call('organisationSsoPut', { params: { org: organisation }, body: request.body });
    setBusy(false);
    if (!result.ok) {
      const placed = placeErrors(problemErrors(result), request.body);
      setErrors(placed.fields);
      const inFields = Object.keys(placed.fields).length > 0;
      // Errors shown under their fields are not repeated in the sentence under the form.
      setFailure(
        inFields ? `Not saved: ${['each refused field says why', ...placed.other].join('; ')}.` : describeFailure(result),
      );
      return;
    }
    await onSaved(result.data);
  };

  return (
    <SsoProviderForm
      testId="org-sso"
      redirectUri={current?.redirectUri ?? callbackUri(api.baseUrl || window.location.origin)}
      effect={
        current && (
          <p className="muted small" data-testid="org-sso-change-effect">
            Changing the issuer, the client or the groups claim forgets the groups the provider listed and ends the sessions it
            opened, until people sign in again; changing the email domains ends its sessions too. A domain kept keeps its proof; a
            new one is verified before anyone of it signs in.
          </p>
        )
      }
      draft={draft}
      onDraft={(change) => setDraft((d) => ({ ...d, ...change }))}
      errors={errors}
      hasStoredSecret={current?.hasClientSecret ?? false}
      secretHelp={
        current?.hasClientSecret ? 'Stored encrypted; leave it blank to keep it.' : 'Stored encrypted; never shown again.'
      }
      failure={failure ?? errors.form?.join('; ') ?? null}
      busy={busy}
      noValidate
      onSubmit={onSubmit}
      onCancel={onCancel}
    >
      <SsoField
        label="Email domains"
        testId="org-sso-domains"
        errors={errors.allowedDomains}
        help="Comma or space separated. The provider is trusted only for verified addresses at these domains."
      >
        {(aria) => (
          <input
            type="text"
            spellCheck={false}
            placeholder="example.com, example.org"
            value={draft.domains}
            onChange={(e) => set('domains', e.target.value)}
            data-testid="org-sso-domains"
            {...aria}
          />
        )}
      </SsoField>
      <SsoField
        label="Groups claim"
        testId="org-sso-groups-claim"
        errors={errors.groupsClaim}
        help={`The ID token claim that lists the person's groups; blank is ${DEFAULT_GROUPS_CLAIM}.`}
      >
        {(aria) => (
          <input
            type="text"
            spellCheck={false}
            placeholder={DEFAULT_GROUPS_CLAIM}
            value={draft.groupsClaim}
            maxLength={100}
            onChange={(e) => set('groupsClaim', e.target.value)}
            data-testid="org-sso-groups-claim"
            {...aria}
          />
        )}
      </SsoField>
    </SsoProviderForm>
  );
}
