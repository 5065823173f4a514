import type { OrganisationSso } from '@outpost/sdk/contracts';
import { type FormEvent, type ReactNode, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { describedBy, FieldErrors } from '../components/form-field.js';
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

/**
 * A labelled input of the settings form with its help and errors, tied together for screen readers;
 * the input takes `id` (the test id) and the error props from `children`.
 */
function Field({
  label,
  testId,
  errors,
  help,
  children,
}: {
  label: string;
  testId: string;
  errors: string[] | undefined;
  help?: ReactNode;
  children: (aria: { id: string } & ReturnType<typeof describedBy>) => ReactNode;
}) {
  const errorId = `${testId}-error`;
  return (
    <div className="field">
      <label className="field-label" htmlFor={testId}>
        {label}
      </label>
      {children({ id: testId, ...describedBy(errors, errorId) })}
      {help && <span className="field-help">{help}</span>}
      <FieldErrors id={errorId} messages={errors} testId={errorId} />
    </div>
  );
}

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
    <form className="form sso-form" noValidate onSubmit={(e) => void onSubmit(e)} data-testid="org-sso-form">
      <p className="muted small">
        Register this redirect URI at the provider first; it gives you the client ID and secret:{' '}
        <code data-testid="org-sso-form-redirect-uri">
          {current?.redirectUri ?? callbackUri(api.baseUrl || window.location.origin)}
        </code>
      </p>
      {current && (
        <p className="muted small" data-testid="org-sso-change-effect">
          Changing the issuer, the client or the groups claim forgets the groups the provider listed and ends the sessions it
          opened, until people sign in again; changing the email domains ends its sessions too. A domain kept keeps its proof; a
          new one is verified before anyone of it signs in.
        </p>
      )}
      <Field
        label="Issuer"
        testId="org-sso-issuer"
        errors={errors.issuer}
        help="Exactly the issuer of the provider’s discovery document."
      >
        {(aria) => (
          <input
            type="url"
            spellCheck={false}
            placeholder="https://login.example.com"
            value={draft.issuer}
            maxLength={500}
            onChange={(e) => set('issuer', e.target.value)}
            data-testid="org-sso-issuer"
            {...aria}
          />
        )}
      </Field>
      <Field label="Client ID" testId="org-sso-client-id" errors={errors.clientId}>
        {(aria) => (
          <input
            type="text"
            spellCheck={false}
            value={draft.clientId}
            maxLength={500}
            onChange={(e) => set('clientId', e.target.value)}
            data-testid="org-sso-client-id"
            {...aria}
          />
        )}
      </Field>
      <label className="field field-inline">
        <input
          type="checkbox"
          checked={draft.publicClient}
          onChange={(e) => set('publicClient', e.target.checked)}
          data-testid="org-sso-public-client"
        />
        <span>Public client: the provider issued no secret (PKCE alone)</span>
      </label>
      {!draft.publicClient && (
        <Field
          label="Client secret"
          testId="org-sso-client-secret"
          errors={errors.clientSecret}
          help={
            current?.hasClientSecret ? 'Stored encrypted; leave it blank to keep it.' : 'Stored encrypted; never shown again.'
          }
        >
          {(aria) => (
            <input
              type="password"
              autoComplete="off"
              spellCheck={false}
              placeholder={current?.hasClientSecret ? 'unchanged' : ''}
              value={draft.secret}
              maxLength={2000}
              onChange={(e) => set('secret', e.target.value)}
              data-testid="org-sso-client-secret"
              {...aria}
            />
          )}
        </Field>
      )}
      <Field
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
      </Field>
      <Field
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
      </Field>
      {(failure ?? errors.form) && (
        <div className="notice notice-error" role="alert" data-testid="org-sso-error">
          {failure ?? errors.form?.join('; ')}
        </div>
      )}
      <div className="actions">
        <button type="button" className="button button-quiet" onClick={onCancel} data-testid="org-sso-cancel">
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={busy} data-testid="org-sso-save">
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}
