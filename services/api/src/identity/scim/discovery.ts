import { SCIM_PAGE_MAX, SCIM_SCHEMAS } from '@outpost/sdk/contracts';
import { type AttributeDef, ENTERPRISE_USER_ATTRIBUTES, GROUP_ATTRIBUTES, USER_ATTRIBUTES } from './attributes.js';

/*
 * The discovery documents (RFC 7644 §4): what this service provider supports, its resource types and
 * their schemas, made from the same attribute table that PATCH paths and filters are resolved with.
 */

/** What this service provider supports; a directory reads it before it provisions anything. */
export function serviceProviderConfig(base: string) {
  return {
    schemas: [SCIM_SCHEMAS.serviceProviderConfig],
    patch: { supported: true },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: SCIM_PAGE_MAX },
    changePassword: { supported: false },
    sort: { supported: false },
    etag: { supported: false },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Organisation token',
        description:
          'An organisation token holding the scope "scim", made by an owner or admin of the organisation, sent as "Authorization: Bearer opo_…"',
        primary: true,
      },
    ],
    meta: { resourceType: 'ServiceProviderConfig', location: `${base}/ServiceProviderConfig` },
  };
}

const RESOURCE_TYPES = [
  {
    id: 'User',
    name: 'User',
    endpoint: '/Users',
    description: "A person of the organisation's directory",
    schema: SCIM_SCHEMAS.user,
    schemaExtensions: [{ schema: SCIM_SCHEMAS.enterpriseUser, required: false }],
  },
  {
    id: 'Group',
    name: 'Group',
    endpoint: '/Groups',
    description: "A group of the organisation's directory: the roles it grants in workspaces are set in Outpost",
    schema: SCIM_SCHEMAS.group,
    schemaExtensions: [],
  },
];

export function resourceTypes(base: string) {
  return RESOURCE_TYPES.map((type) => ({
    schemas: [SCIM_SCHEMAS.resourceType],
    ...type,
    meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${type.id}` },
  }));
}

/** An attribute as a Schema document describes it (RFC 7643 §7). */
function describe(def: AttributeDef): Record<string, unknown> & { name: string; type: string } {
  const { subAttributes, referenceTypes, ...rest } = def;
  return {
    ...rest,
    ...(referenceTypes ? { referenceTypes } : {}),
    ...(subAttributes ? { subAttributes: subAttributes.map(describe) } : {}),
  };
}

const SCHEMAS = [
  { id: SCIM_SCHEMAS.user, name: 'User', description: 'A person', attributes: USER_ATTRIBUTES },
  {
    id: SCIM_SCHEMAS.enterpriseUser,
    name: 'EnterpriseUser',
    description: 'Enterprise attributes of a person, kept as sent',
    attributes: ENTERPRISE_USER_ATTRIBUTES,
  },
  { id: SCIM_SCHEMAS.group, name: 'Group', description: 'A group of people', attributes: GROUP_ATTRIBUTES },
];

export function schemaDocuments(base: string) {
  return SCHEMAS.map((schema) => ({
    schemas: [SCIM_SCHEMAS.schema],
    id: schema.id,
    name: schema.name,
    description: schema.description,
    attributes: schema.attributes.map(describe),
    meta: { resourceType: 'Schema', location: `${base}/Schemas/${schema.id}` },
  }));
}
