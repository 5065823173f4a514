import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { type ClientDraft, clientErrors, clientSecretField } from '../src/lib/organisation-sso.js';
import { SsoProviderForm } from '../src/pages/sso-provider-form.js';

const DRAFT: ClientDraft = { issuer: 'https://login.acme.example', clientId: 'outpost', secret: '', publicClient: false };

function form(testId: 'sso' | 'org-sso', errors: Record<string, string[]> = {}, hasStoredSecret = false): string {
  return renderToStaticMarkup(
    <SsoProviderForm
      testId={testId}
      redirectUri="https://outpost.acme.example/api/v1/auth/oidc/callback"
      draft={DRAFT}
      onDraft={() => {}}
      errors={errors}
      hasStoredSecret={hasStoredSecret}
      secretHelp="Stored encrypted; never shown again."
      failure={null}
      busy={false}
      onSubmit={async () => {}}
      onCancel={() => {}}
    >
      <span data-testid="own-fields" />
    </SsoProviderForm>,
  );
}

describe('the single sign-on form of a workspace and of the organisation', () => {
  it('names its redirect URI, fields and buttons after whose provider it sets up', () => {
    for (const testId of ['sso', 'org-sso'] as const) {
      const html = form(testId);
      expect(html).toContain(`data-testid="${testId}-form"`);
      expect(html).toContain(
        `<code data-testid="${testId}-form-redirect-uri">https://outpost.acme.example/api/v1/auth/oidc/callback</code>`,
      );
      for (const field of ['issuer', 'client-id', 'public-client', 'client-secret', 'save', 'cancel']) {
        expect(html).toContain(`data-testid="${testId}-${field}"`);
      }
      expect(html).toContain('<span data-testid="own-fields"></span>');
    }
  });

  it('ties a field to its errors for a screen reader', () => {
    const html = form('org-sso', { issuer: ['enter the provider’s issuer URL, e.g. https://login.example.com'] });
    expect(html).toContain('<label class="field-label" for="org-sso-issuer">Issuer</label>');
    expect(html).toContain('aria-invalid="true" aria-describedby="org-sso-issuer-error"');
    expect(html).toContain('<ul class="field-error field-error-list" id="org-sso-issuer-error"');
  });

  it('says a stored secret stays when the field is left blank', () => {
    expect(form('sso', {}, true)).toContain('placeholder="unchanged"');
    expect(clientSecretField(DRAFT)).toEqual({});
    expect(clientSecretField({ ...DRAFT, publicClient: true })).toEqual({ clientSecret: null });
    expect(clientSecretField({ ...DRAFT, secret: 's3cret' })).toEqual({ clientSecret: 's3cret' });
  });
});

describe("the check of a provider's client", () => {
  it('asks for an issuer URL, a client ID and, for a confidential client without a stored one, the secret', () => {
    const errors = clientErrors({ issuer: 'login.acme.example', clientId: ' ', secret: '', publicClient: false }, false);
    expect(Object.keys(errors)).toEqual(['issuer', 'clientId', 'clientSecret']);
  });

  it('needs no secret for a public client or one whose secret is stored', () => {
    expect(clientErrors({ ...DRAFT, publicClient: true }, false)).toEqual({});
    expect(clientErrors(DRAFT, true)).toEqual({});
  });
});
