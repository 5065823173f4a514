import type { OrganisationSso } from '@outpost/sdk/contracts';

/**
 * An organisation's single sign-on as the API returns it: a provider, two domains (one verified,
 * one waiting on its DNS record), and whatever claim and group mapping a test gives it.
 */
export function organisationSso(mapping: Pick<OrganisationSso, 'groupsClaim' | 'groupRoles'>): OrganisationSso {
  return {
    issuer: 'https://login.acme.example',
    clientId: 'outpost',
    hasClientSecret: true,
    allowedDomains: ['acme.example', 'acme.org'],
    domains: [
      {
        domain: 'acme.example',
        verified: true,
        verifiedAt: '2026-03-01T12:00:00.000Z',
        recordName: '_outpost-challenge.acme.example',
        recordValue: 'outpost-domain-verification=aaaaaaaaaaaaaaaaaaaa',
      },
      {
        domain: 'acme.org',
        verified: false,
        verifiedAt: null,
        recordName: '_outpost-challenge.acme.org',
        recordValue: 'outpost-domain-verification=bbbbbbbbbbbbbbbbbbbb',
      },
    ],
    ...mapping,
    redirectUri: 'https://outpost.acme.example/api/v1/auth/oidc/callback',
    signInPath: '/api/v1/auth/oidc/organisations/acme/start',
    updatedAt: '2026-03-01T12:00:00.000Z',
  };
}
