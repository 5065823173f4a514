import type { FormEvent, ReactNode } from 'react';
import { ConfirmTurnOff } from '../components/confirm-button.js';
import { CheckField, describedBy, FieldErrors } from '../components/form-field.js';
import type { ClientDraft, FieldErrors as FieldErrorMap } from '../lib/organisation-sso.js';

/**
 * A labelled input of a single sign-on form with its help and errors, tied together for screen
 * readers; the input takes `id` (the test id) and the error props from `children`.
 */
export function SsoField({
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

/**
 * The form that sets up or changes an OpenID Connect provider, for a workspace (`testId` "sso") or
 * the organisation ("org-sso"): the redirect URI to register first, `effect` (what a change does),
 * the issuer and the client, then the fields of its own (`children`), the failure and Save.
 * Test ids are `testId` with `-form`, `-issuer`, `-client-id`, `-public-client`, `-client-secret`,
 * `-error`, `-cancel` and `-save`.
 */
export function SsoProviderForm({
  testId,
  redirectUri,
  effect,
  draft,
  onDraft,
  errors,
  hasStoredSecret,
  secretHelp,
  failure,
  busy,
  noValidate,
  onSubmit,
  onCancel,
  children,
}: {
  testId: 'sso' | 'org-sso';
  redirectUri: string;
  effect?: ReactNode;
  draft: ClientDraft;
  onDraft: (change: Partial<ClientDraft>) => void;
  errors: FieldErrorMap;
  hasStoredSecret: boolean;
  secretHelp: string;
  failure: string | null;
  busy: boolean;
  /** Leaves every check to the form's own, which names each problem under its field. */
  noValidate?: boolean;
  onSubmit: (e: FormEvent) => Promise<void>;
  onCancel: () => void;
  children: ReactNode;
}) {
  return (
    <form className="form sso-form" noValidate={noValidate} onSubmit={(e) => void onSubmit(e)} data-testid={`${testId}-form`}>
      <p className="muted small">
        Register this redirect URI at the provider first; it gives you the client ID and secret:{' '}
        <code data-testid={`${testId}-form-redirect-uri`}>{redirectUri}</code>
      </p>
      {effect}
      <SsoField
        label="Issuer"
        testId={`${testId}-issuer`}
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
            onChange={(e) => onDraft({ issuer: e.target.value })}
            data-testid={`${testId}-issuer`}
            {...aria}
          />
        )}
      </SsoField>
      <SsoField label="Client ID" testId={`${testId}-client-id`} errors={errors.clientId}>
        {(aria) => (
          <input
            type="text"
            spellCheck={false}
            value={draft.clientId}
            maxLength={500}
            onChange={(e) => onDraft({ clientId: e.target.value })}
            data-testid={`${testId}-client-id`}
            {...aria}
          />
        )}
      </SsoField>
      <CheckField
        inline
        checked={draft.publicClient}
        onChange={(publicClient) => onDraft({ publicClient })}
        testId={`${testId}-public-client`}
      >
        <span>Public client: the provider issued no secret (PKCE alone)</span>
      </CheckField>
      {!draft.publicClient && (
        <SsoField label="Client secret" testId={`${testId}-client-secret`} errors={errors.clientSecret} help={secretHelp}>
          {(aria) => (
            <input
              type="password"
              autoComplete="off"
              spellCheck={false}
              placeholder={hasStoredSecret ? 'unchanged' : ''}
              value={draft.secret}
              maxLength={2000}
              onChange={(e) => onDraft({ secret: e.target.value })}
              data-testid={`${testId}-client-secret`}
              {...aria}
            />
          )}
        </SsoField>
      )}
      {children}
      {failure && (
        <div className="notice notice-error" role="alert" data-testid={`${testId}-error`}>
          {failure}
        </div>
      )}
      <div className="actions">
        <button type="button" className="button button-quiet" onClick={onCancel} data-testid={`${testId}-cancel`}>
          Cancel
        </button>
        <button type="submit" className="button button-primary" disabled={busy} data-testid={`${testId}-save`}>
          {busy ? 'Saving…' : 'Save'}
        </button>
      </div>
    </form>
  );
}

/** A configured provider's Change and Turn off (asked twice, saying `effect`), for its owners. */
export function SsoChangeActions({
  testId,
  effect,
  effectTestId,
  onChange,
  onTurnOff,
}: {
  testId: 'sso' | 'org-sso';
  effect: string;
  effectTestId?: string;
  onChange: () => void;
  onTurnOff: () => void;
}) {
  return (
    <div className="actions">
      <button type="button" className="button" onClick={onChange} data-testid={`${testId}-edit`}>
        Change
      </button>
      <ConfirmTurnOff testId={`${testId}-turn-off`} effect={effect} effectTestId={effectTestId} onConfirm={onTurnOff} />
    </div>
  );
}

/**
 * A configured provider's issuer and client (confidential or public), as entries of a summary list.
 * Test ids are `testId` with `-issuer-value`, `-client-id-value` and `-secret-value`.
 */
export function SsoClientFacts({
  testId,
  provider,
}: {
  testId: 'sso' | 'org-sso';
  provider: { issuer: string; clientId: string; hasClientSecret: boolean };
}) {
  return (
    <>
      <dt>Issuer</dt>
      <dd>
        <code data-testid={`${testId}-issuer-value`}>{provider.issuer}</code>
      </dd>
      <dt>Client</dt>
      <dd>
        <code data-testid={`${testId}-client-id-value`}>{provider.clientId}</code>{' '}
        <span className="muted small" data-testid={`${testId}-secret-value`}>
          {provider.hasClientSecret ? 'confidential (secret stored encrypted)' : 'public (PKCE only)'}
        </span>
      </dd>
    </>
  );
}

/** The redirect URI to register at a configured provider, as an entry of a summary list (test id `testId` with `-redirect-uri`). */
export function SsoRedirectFact({ testId, redirectUri }: { testId: 'sso' | 'org-sso'; redirectUri: string }) {
  return (
    <>
      <dt>Redirect URI</dt>
      <dd>
        <code data-testid={`${testId}-redirect-uri`}>{redirectUri}</code>
        <div className="muted small">Register this at the provider as the client's sign-in redirect.</div>
      </dd>
    </>
  );
}
