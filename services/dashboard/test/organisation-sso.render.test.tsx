import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import type { GroupWorkspace } from '../src/lib/group-roles.js';
import { mappingRows, workspaceChoices } from '../src/lib/organisation-sso.js';
import { OrgSsoEmpty, OrgSsoSummary } from '../src/pages/organisation-sso.js';
import { OrgSsoDomains } from '../src/pages/organisation-sso-domains.js';
import { GroupMappingEditor, MappingTable } from '../src/pages/organisation-sso-mapping.js';
import { organisationSso } from './organisation-sso.support.js';

const WORKSPACES: GroupWorkspace[] = [
  { slug: 'default', name: 'Default', archivedAt: null },
  { slug: 'vision', name: 'Vision team', archivedAt: null },
];

const SSO = organisationSso({
  groupsClaim: 'groups',
  groupRoles: [{ group: 'ml-platform', workspace: 'vision', role: 'developer' }],
});

function editor(owner: boolean): string {
  return renderToStaticMarkup(
    <GroupMappingEditor organisation="acme" current={SSO} workspaces={WORKSPACES} owner={owner} onSaved={() => {}} />,
  );
}

describe("the organisation's single sign-on", () => {
  it('shows the provider, whom it trusts, the redirect URI to register and the absolute link to share', () => {
    const html = renderToStaticMarkup(<OrgSsoSummary sso={SSO} domains={<span data-testid="domains-here" />} />);
    expect(html).toContain('<code data-testid="org-sso-issuer-value">https://login.acme.example</code>');
    expect(html).toContain('<code data-testid="org-sso-client-id-value">outpost</code>');
    expect(html).toContain('confidential (secret stored encrypted)');
    expect(html).toContain('<dt>Email domains</dt><dd><span data-testid="domains-here"></span>');
    expect(html).toContain('<code data-testid="org-sso-claim-value">groups</code>');
    expect(html).toContain('https://outpost.acme.example/api/v1/auth/oidc/callback');
    expect(html).toContain(
      '<code data-testid="org-sso-sign-in-link">https://outpost.acme.example/api/v1/auth/oidc/organisations/acme/start</code>',
    );
    expect(renderToStaticMarkup(<OrgSsoSummary sso={{ ...SSO, hasClientSecret: false }} domains={null} />)).toContain(
      'public (PKCE only)',
    );
  });

  it('shows each domain verified or not, the TXT record that proves an unverified one, and to owners the button that looks it up', () => {
    const html = renderToStaticMarkup(
      <OrgSsoDomains organisation="acme" domains={SSO.domains} owner={true} onVerified={() => {}} />,
    );
    expect(html).toContain('data-domain="acme.example" data-verified="true"');
    expect(html).toContain('<span class="pill pill-online">verified</span>');
    expect(html).toContain('data-domain="acme.org" data-verified="false"');
    expect(html).toContain('<code data-testid="org-sso-domain-record-name">_outpost-challenge.acme.org</code>');
    expect(html).toContain(
      '<code data-testid="org-sso-domain-record-value">outpost-domain-verification=bbbbbbbbbbbbbbbbbbbb</code>',
    );
    // The proven domain shows no record, and only the unproven one a button, named for its domain.
    expect(html.match(/data-testid="org-sso-domain-record-name"/g)).toHaveLength(1);
    expect(html).toMatch(/data-testid="org-sso-domain-verify">Verify<span class="visually-hidden"> acme.org<\/span><\/button>/);
    const reader = renderToStaticMarkup(
      <OrgSsoDomains organisation="acme" domains={SSO.domains} owner={false} onVerified={() => {}} />,
    );
    expect(reader).not.toContain('<button');
    expect(reader).toContain('_outpost-challenge.acme.org');
  });

  it('offers owners to set it up when there is none, and tells admins and auditors who does', () => {
    const owner = renderToStaticMarkup(<OrgSsoEmpty owner={true} onSetUp={() => {}} />);
    expect(owner).toContain('The organisation has no single sign-on.');
    expect(owner).toContain('data-testid="org-sso-set-up"');
    const reader = renderToStaticMarkup(<OrgSsoEmpty owner={false} onSetUp={() => {}} />);
    expect(reader).not.toContain('<button');
    expect(reader).toContain('The organisation&#x27;s owners set it up.');
  });

  it('gives owners a row per grant with labelled controls, and a save that waits for a change', () => {
    const html = editor(true);
    expect(html).toContain('data-read-only="false"');
    expect(html.match(/data-testid="org-sso-mapping-row"/g)).toHaveLength(1);
    expect(html).toContain('data-group="ml-platform" data-workspace="vision" data-role="developer"');
    expect(html).toContain('<label class="visually-hidden" for="org-sso-mapping-0-group">Group of grant 1</label>');
    expect(html).toMatch(/id="org-sso-mapping-0-group"[^>]*value="ml-platform"/);
    expect(html).toMatch(
      /<select id="org-sso-mapping-0-workspace"[^>]*><option value="">Workspace…<\/option><option value="default">default<\/option><option value="vision" selected="">vision<\/option><\/select>/,
    );
    expect(html).toMatch(
      /<select id="org-sso-mapping-0-role"[^>]*><option value="viewer">viewer<\/option><option value="runner">runner<\/option><option value="developer" selected="">developer<\/option><option value="admin">admin<\/option><\/select>/,
    );
    expect(html).toMatch(/<button type="submit"[^>]*disabled=""[^>]*data-testid="org-sso-mapping-save">Save roles</);
    expect(html).toContain('data-testid="org-sso-mapping-add"');
    expect(html).toContain('role="status" aria-live="polite" data-testid="org-sso-mapping-status"');
  });

  it('shows admins and auditors the grants as text, with no control', () => {
    const html = editor(false);
    expect(html).toContain('data-read-only="true"');
    expect(html).not.toContain('<select');
    expect(html).not.toContain('<input');
    expect(html).not.toContain('<button');
    expect(html).toContain('data-group="ml-platform" data-workspace="vision" data-role="developer"');
  });

  it("shows a refused grant's errors in its row, each under the control it is about and tied to it", () => {
    const rows = [...mappingRows(SSO.groupRoles), { id: 4, group: 'ops', workspace: 'gone', role: 'runner' as const }];
    const html = renderToStaticMarkup(
      <MappingTable
        rows={rows}
        choices={workspaceChoices(WORKSPACES, rows)}
        errors={{ 4: { workspace: ['no workspace of this organisation is named "gone"'] } }}
        busy={false}
        onChange={() => {}}
        onRemove={() => {}}
      />,
    );
    expect(html.match(/data-testid="org-sso-mapping-error"/g)).toHaveLength(1);
    expect(html).toMatch(
      /class="row-invalid"[^>]*data-group="ops".*aria-invalid="true" aria-describedby="org-sso-mapping-4-workspace-error".*<span class="field-error" id="org-sso-mapping-4-workspace-error" role="alert" data-testid="org-sso-mapping-error">no workspace of this organisation is named &quot;gone&quot;<\/span>/s,
    );
    expect(html).toContain('<option value="gone" selected="">gone (not a workspace of the organisation)</option>');
    expect(html).not.toMatch(/data-group="ml-platform"[^>]*class="row-invalid"/);
  });
});
