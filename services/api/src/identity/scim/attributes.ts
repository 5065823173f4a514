import { SCIM_SCHEMAS } from '@outpost/sdk/contracts';

/*
 * The attributes this service provider keeps, as RFC 7643 §7 describes attributes: one table that the
 * /Schemas document shows, PATCH paths and filters are resolved against (names case-insensitively,
 * RFC 7643 §2.1), and that says which attributes are read-only.
 */

export interface AttributeDef {
  name: string;
  type: 'string' | 'boolean' | 'complex' | 'reference' | 'dateTime';
  multiValued: boolean;
  description: string;
  required: boolean;
  caseExact: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  uniqueness: 'none' | 'server' | 'global';
  subAttributes?: AttributeDef[];
  referenceTypes?: string[];
}

function attr(name: string, description: string, rest: Partial<AttributeDef> = {}): AttributeDef {
  return {
    name,
    type: 'string',
    multiValued: false,
    description,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...rest,
  };
}

/** The sub-attributes of a person's emails and phone numbers. */
const MULTI_VALUE_SUBS = (what: string) => [
  attr('value', `The ${what}.`),
  attr('display', `A human-readable name of the ${what}.`),
  attr('type', `What kind of ${what} it is, e.g. "work".`),
  attr('primary', `Whether it is the person's primary ${what}.`, { type: 'boolean' }),
];

export const USER_ATTRIBUTES: AttributeDef[] = [
  attr('userName', "The person's unique name in the organisation's directory, compared regardless of case.", {
    required: true,
    uniqueness: 'server',
  }),
  attr('name', "The components of the person's name.", {
    type: 'complex',
    subAttributes: [
      attr('formatted', 'The full name, formatted for display.'),
      attr('familyName', 'The family name.'),
      attr('givenName', 'The given name.'),
      attr('middleName', 'The middle name.'),
      attr('honorificPrefix', 'The honorific prefix, e.g. "Ms."'),
      attr('honorificSuffix', 'The honorific suffix, e.g. "III".'),
    ],
  }),
  attr('displayName', 'The name to show for the person; it names a new account.'),
  attr('nickName', 'The casual name of the person.'),
  attr('profileUrl', "A URL of the person's profile.", { type: 'reference', referenceTypes: ['external'] }),
  attr('title', 'The person\'s title, e.g. "Vice President".'),
  attr('userType', 'The person\'s relation to the organisation, e.g. "Employee".'),
  attr('preferredLanguage', 'The person\'s preferred language, e.g. "en-GB".'),
  attr('locale', 'The person\'s locale, e.g. "en-GB".'),
  attr('timezone', 'The person\'s time zone, e.g. "Europe/London".'),
  attr(
    'active',
    'False deprovisions the person: their memberships of the organisation, sessions and API keys end; true again restores what their groups grant.',
    { type: 'boolean' },
  ),
  attr('password', 'Not kept: people sign in with single sign-on or a reset link (changePassword is not supported).', {
    mutability: 'writeOnly',
    returned: 'never',
  }),
  attr(
    'emails',
    "The person's email addresses: the primary one (or userName, when it is an address) finds or makes the account.",
    {
      type: 'complex',
      multiValued: true,
      subAttributes: MULTI_VALUE_SUBS('email address'),
    },
  ),
  attr('phoneNumbers', "The person's phone numbers.", {
    type: 'complex',
    multiValued: true,
    subAttributes: MULTI_VALUE_SUBS('phone number'),
  }),
  attr('groups', "The organisation's directory groups the person is in.", {
    type: 'complex',
    multiValued: true,
    mutability: 'readOnly',
    subAttributes: [
      attr('value', 'The id of the group.', { mutability: 'readOnly' }),
      attr('$ref', 'The URI of the group.', { type: 'reference', referenceTypes: ['Group'], mutability: 'readOnly' }),
      attr('display', "The group's displayName.", { mutability: 'readOnly' }),
      attr('type', 'Always "direct": groups do not nest.', { mutability: 'readOnly' }),
    ],
  }),
];

export const ENTERPRISE_USER_ATTRIBUTES: AttributeDef[] = [
  attr('employeeNumber', "The person's number in the organisation."),
  attr('costCenter', "The person's cost centre."),
  attr('organization', "The person's organisation."),
  attr('division', "The person's division."),
  attr('department', "The person's department."),
  attr('manager', "The person's manager.", {
    type: 'complex',
    subAttributes: [
      attr('value', "The id of the manager's person resource."),
      attr('$ref', "The URI of the manager's person resource.", { type: 'reference', referenceTypes: ['User'] }),
      attr('displayName', "The manager's name.", { mutability: 'readOnly' }),
    ],
  }),
];

export const GROUP_ATTRIBUTES: AttributeDef[] = [
  attr('displayName', "The group's name, unique in the organisation regardless of case.", {
    required: true,
    uniqueness: 'server',
  }),
  attr('members', 'The people in the group: each one provisioned in the organisation (groups do not nest).', {
    type: 'complex',
    multiValued: true,
    subAttributes: [
      attr('value', "The person's id.", { mutability: 'immutable' }),
      attr('$ref', "The URI of the person's resource.", {
        type: 'reference',
        referenceTypes: ['User'],
        mutability: 'immutable',
      }),
      attr('display', "The person's displayName (or userName).", { mutability: 'readOnly' }),
      attr('type', 'Always "User".', { mutability: 'immutable' }),
    ],
  }),
];

/** The attributes every resource has (RFC 7643 §3.1): id and meta are the service provider's. */
export const COMMON_ATTRIBUTES: AttributeDef[] = [
  attr('id', "The resource's id, given by the service provider.", {
    caseExact: true,
    mutability: 'readOnly',
    returned: 'always',
    uniqueness: 'server',
  }),
  attr('externalId', "The directory's own id of the resource.", { caseExact: true }),
  attr('meta', "The resource's metadata.", {
    type: 'complex',
    mutability: 'readOnly',
    subAttributes: ['resourceType', 'created', 'lastModified', 'location'].map((name) =>
      attr(name, `The resource's ${name}.`, { mutability: 'readOnly', type: name === 'location' ? 'reference' : 'string' }),
    ),
  }),
  attr('schemas', 'The URNs of the schemas the resource uses.', { multiValued: true, mutability: 'readOnly' }),
];

/** A resource type's attributes: its core schema's, the common ones, and its extensions' by URN. */
export interface ResourceSchema {
  name: 'User' | 'Group';
  urn: string;
  attributes: AttributeDef[];
  extensions: { urn: string; attributes: AttributeDef[] }[];
}

export const USER_SCHEMA: ResourceSchema = {
  name: 'User',
  urn: SCIM_SCHEMAS.user,
  attributes: [...USER_ATTRIBUTES, ...COMMON_ATTRIBUTES],
  extensions: [{ urn: SCIM_SCHEMAS.enterpriseUser, attributes: ENTERPRISE_USER_ATTRIBUTES }],
};

export const GROUP_SCHEMA: ResourceSchema = {
  name: 'Group',
  urn: SCIM_SCHEMAS.group,
  attributes: [...GROUP_ATTRIBUTES, ...COMMON_ATTRIBUTES],
  extensions: [],
};

/** An attribute a path or filter names: in the core schema (`extension` null) or an extension, and a sub-attribute. */
export interface ResolvedAttribute {
  /** The extension's URN when the attribute is an extension's (its values live under that key). */
  extension: string | null;
  /** Null when the path names a whole extension (`urn:…:enterprise:2.0:User`). */
  attribute: AttributeDef | null;
  sub: AttributeDef | null;
}

const byName = (defs: readonly AttributeDef[], name: string) => defs.find((d) => d.name.toLowerCase() === name.toLowerCase());

/**
 * What `raw` names (`userName`, `name.givenName`, `urn:…:User:userName`, `urn:…:enterprise:2.0:User:manager.value`),
 * or null for an attribute this service provider does not keep. A URN is matched first, since
 * "2.0" in it holds a dot.
 */
export function resolveAttribute(schema: ResourceSchema, raw: string): ResolvedAttribute | null {
  let rest = raw;
  let defs = schema.attributes;
  let extension: string | null = null;
  const lower = raw.toLowerCase();
  for (const candidate of [schema.urn, ...schema.extensions.map((e) => e.urn)]) {
    const urn = candidate.toLowerCase();
    if (lower === urn && candidate !== schema.urn) return { extension: candidate, attribute: null, sub: null };
    if (lower.startsWith(`${urn}:`)) {
      rest = raw.slice(urn.length + 1);
      if (candidate !== schema.urn) {
        extension = candidate;
        defs = schema.extensions.find((e) => e.urn === candidate)?.attributes ?? [];
      }
      break;
    }
  }
  const [name, subName, ...more] = rest.split('.');
  if (name === undefined || more.length > 0) return null;
  const attribute = byName(defs, name);
  if (!attribute) return null;
  if (subName === undefined) return { extension, attribute, sub: null };
  const sub = byName(attribute.subAttributes ?? [], subName);
  return sub ? { extension, attribute, sub } : null;
}

/** The sub-attribute of a complex value named `name`, case-insensitively. */
export function subAttribute(attribute: AttributeDef, name: string): AttributeDef | undefined {
  return byName(attribute.subAttributes ?? [], name);
}
