import {
  type OrganisationTokenCreateResponse,
  type OrganisationTokenScope,
  OrganisationTokenScope as Scopes,
} from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { CreatedOrganisationToken, OrganisationTokensSection, SCOPE_MEANING } from '../src/pages/organisation-tokens.js';

function made(scopes: OrganisationTokenScope[]): OrganisationTokenCreateResponse {
  return {
    token: 'opo_secret',
    organisationToken: {
      id: '00000000-0000-4000-8000-000000000001',
      name: 'okta',
      scopes,
      prefix: 'opo_secr',
      createdAt: '2026-03-01T12:00:00.000Z',
      createdBy: null,
      lastUsedAt: null,
      expiresAt: null,
      revokedAt: null,
    },
  };
}

function created(scopes: OrganisationTokenScope[]): string {
  return renderToStaticMarkup(
    <CreatedOrganisationToken
      organisation="acme"
      created={made(scopes)}
      origin="https://outpost.example.com"
      onDone={() => {}}
    />,
  );
}

describe("the organisation's tokens", () => {
  it('offers a checkbox for every scope of the contract, each described for a screen reader', () => {
    const html = renderToStaticMarkup(<OrganisationTokensSection organisation="acme" callerRole="owner" />);
    expect(Scopes.options).toContain('scim');
    expect(html).not.toMatch(/<input type="checkbox"[^>]*disabled=""/);
    for (const scope of Scopes.options) {
      expect(html).toContain(`data-scope="${scope}"`);
      expect(SCOPE_MEANING[scope]).toMatch(/^[a-z].{10,}[^.]$/);
    }
    expect(html).toMatch(
      /aria-describedby="organisation-token-scope-scim"[^>]*data-scope="scim"\/><code>scim<\/code><span id="organisation-token-scope-scim" class="visually-hidden">lets the company&#x27;s directory provision people and groups \(SCIM\), and nothing else<\/span>/,
    );
  });

  it('offers an admin the reading scopes but not scim, saying that only owners make those tokens', () => {
    const html = renderToStaticMarkup(<OrganisationTokensSection organisation="acme" callerRole="admin" />);
    const choices = [...html.matchAll(/<input type="checkbox"[^>]*data-scope="([^"]+)"[^>]*>/g)].map((m) => ({
      scope: m[1],
      disabled: m[0].includes('disabled=""'),
    }));
    expect(choices).toEqual([
      { scope: 'audit:read', disabled: false },
      { scope: 'usage:read', disabled: false },
      { scope: 'scim', disabled: true },
    ]);
    expect(html).toContain('data-testid="organisation-token-scope-makers">only owners make these</span>');
  });

  it('shows a scim token with the SCIM base URL its identity provider is given, each with a copy button', () => {
    const html = created(['scim']);
    expect(html).toContain('data-testid="organisation-token-scim"');
    expect(html).toContain(
      'aria-label="SCIM base URL" data-testid="organisation-token-scim-url" value="https://outpost.example.com/api/v1/organisations/acme/scim/v2"/>',
    );
    expect(html).toContain(
      'data-testid="organisation-token-scim-url-copy">Copy<span class="visually-hidden"> the SCIM base URL</span>',
    );
    expect(html).toContain('data-testid="organisation-token-secret" value="opo_secret"/>');
    expect(html).toContain('data-testid="organisation-token-copy">Copy<span class="visually-hidden"> the token</span>');
    expect(html).toContain('data-testid="organisation-token-done"');
    // A scim token reads nothing, so the lines about the export and usage are not shown.
    expect(html).not.toContain('A SIEM pulls');
    expect(html).not.toContain('A billing or chargeback job');
  });

  it('shows no SCIM base URL beside a token without the scim scope', () => {
    const html = created(['audit:read', 'usage:read']);
    expect(html).not.toContain('scim/v2');
    expect(html).toContain('A SIEM pulls');
    expect(html).toContain('A billing or chargeback job');
  });
});
