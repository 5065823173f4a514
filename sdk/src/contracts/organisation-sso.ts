import * as z from 'zod';
import { Timestamp } from './common.js';
import { GroupRole } from './directory.js';
import { EmailDomain } from './users.js';
import { WorkspaceSlug } from './workspaces.js';

/*
 * An organisation's own single sign-on (docs/organisations.md, "Single sign-on for the
 * organisation"): one OpenID Connect provider, configured by the organisation's owners,
 * through which its people sign in to any of its workspaces. Its ID tokens' groups claim grants
 * workspace roles through a mapping kept here. A workspace may still have its own provider
 * (`/sso/oidc`), but only the organisation's provider grants roles from groups: a workspace's admins
 * choose their own provider, and what it says must not reach the organisation's other workspaces.
 */

/** How many values of the groups claim one sign-in reads at most (Entra ID sends up to 200 in a token). */
export const SSO_CLAIM_GROUPS_MAX = 500;
/** How long one value of the groups claim may be; longer values are ignored, as they match no mapping. */
export const SSO_CLAIM_GROUP_LENGTH_MAX = 256;
/** How many (group, workspace) grants an organisation's mapping holds at most. */
export const SSO_GROUP_ROLES_MAX = 1000;

/** A claim name: the key in the ID token's payload that holds the person's groups. */
const ClaimName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9_.:/-]+$/, 'letters, digits and _ . : / - (a claim name such as groups)');

/**
 * One grant of the mapping: a person whose ID token lists `group` (exactly, as the provider sends it:
 * a name for Okta, an object id for Entra ID) gets `role` in `workspace`. The highest of a person's
 * grants counts, together with their directory groups'.
 */
export const SsoGroupRole = z.strictObject({
  group: z.string().min(1).max(SSO_CLAIM_GROUP_LENGTH_MAX),
  workspace: WorkspaceSlug,
  role: GroupRole,
});
export type SsoGroupRole = z.infer<typeof SsoGroupRole>;

/**
 * An allowed domain and what proves the organisation holds it: a TXT record named `recordName` whose
 * value is `recordValue`. Only a verified domain signs anyone in, and one organisation at a time holds
 * a domain verified.
 */
export const OrganisationDomain = z.strictObject({
  domain: z.string(),
  verified: z.boolean(),
  verifiedAt: Timestamp.nullable(),
  recordName: z.string(),
  recordValue: z.string(),
});
export type OrganisationDomain = z.infer<typeof OrganisationDomain>;

/** A domain by name; a name no domain can have is an unknown domain, a 404, like any other. */
export const OrganisationDomainParams = z.strictObject({ org: WorkspaceSlug, domain: z.string().max(253) });

/** The organisation's provider, as its owners, admins and auditors see it. The client secret is write-only. */
export const OrganisationSso = z.strictObject({
  issuer: z.string(),
  clientId: z.string(),
  hasClientSecret: z.boolean(),
  /** Only verified addresses of these domains sign in; the provider is trusted for nobody else. */
  allowedDomains: z.array(z.string()),
  /** Each allowed domain with its proof: until it is verified, nobody of that domain signs in. */
  domains: z.array(OrganisationDomain),
  /** The ID token claim that lists the person's groups. */
  groupsClaim: z.string(),
  /** The roles the groups claim grants, by group, then workspace slug. */
  groupRoles: z.array(SsoGroupRole),
  /** The redirect URI to register at the provider (the same as a workspace's). */
  redirectUri: z.string(),
  /** Where a browser starts signing in to the organisation (relative to the server). */
  signInPath: z.string(),
  updatedAt: Timestamp,
});
export type OrganisationSso = z.infer<typeof OrganisationSso>;

/**
 * Configures the organisation's provider, replacing what was set. `groupRoles` omitted keeps the
 * mapping; given, it replaces it and the roles of everyone who signed in change at once.
 */
export const OrganisationSsoRequest = z.strictObject({
  /** Exactly the `issuer` of the provider's discovery document; HTTPS. */
  issuer: z.url().max(500),
  clientId: z.string().min(1).max(500),
  /** Omitted: keep the stored one; null: none (public client). Needs OUTPOST_SECRET_KEY on the server. */
  clientSecret: z.string().min(1).max(2000).nullable().optional(),
  allowedDomains: z.array(EmailDomain).min(1).max(50),
  groupsClaim: ClaimName.optional(),
  /**
   * The `updatedAt` of the settings this change was made from: when they changed since (another
   * owner replaced the provider), the change is a 409 rather than a silent revert. Omitted: no check.
   */
  expectedUpdatedAt: Timestamp.optional(),
  groupRoles: z
    .array(SsoGroupRole)
    .max(SSO_GROUP_ROLES_MAX)
    .superRefine((roles, ctx) => {
      const seen = new Set<string>();
      roles.forEach((entry, index) => {
        const key = JSON.stringify([entry.group, entry.workspace]);
        if (seen.has(key)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'workspace'],
            message: `the group "${entry.group}" is given a role in "${entry.workspace}" more than once`,
          });
        }
        seen.add(key);
      });
    })
    .optional(),
});
export type OrganisationSsoRequest = z.infer<typeof OrganisationSsoRequest>;
