import * as z from 'zod';
import { groupDigits, Timestamp } from './common.js';
import { WorkspaceSlug } from './workspaces.js';

/*
 * SCIM 2.0 (RFC 7643, RFC 7644): the service provider an organisation's directory (Okta, Entra ID,
 * OneLogin…) provisions its people and groups through, at /api/v1/organisations/:org/scim/v2
 * (docs/organisations.md, "Directory provisioning (SCIM)"). Bodies are application/scim+json (plain
 * application/json is taken too). Requests are read leniently where directories differ: attributes
 * this service provider does not keep are ignored, booleans may come as "True"/"False", PATCH op names
 * in any case. Every bound below is checked where the request arrives, before any work.
 */

/** The media type of every SCIM answer (RFC 7644 §3.1). */
export const SCIM_MEDIA_TYPE = 'application/scim+json';

/** The URNs of the schemas and messages this service provider speaks. */
export const SCIM_SCHEMAS = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  enterpriseUser: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  serviceProviderConfig: 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig',
  resourceType: 'urn:ietf:params:scim:schemas:core:2.0:ResourceType',
  schema: 'urn:ietf:params:scim:schemas:core:2.0:Schema',
  listResponse: 'urn:ietf:params:scim:api:messages:2.0:ListResponse',
  patchOp: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
  error: 'urn:ietf:params:scim:api:messages:2.0:Error',
} as const;

// ---- bounds (invariant 7): each refused with a SCIM 400 (413 for the body) naming it -------------

/** The longest `filter` a list takes, in characters: filters are parsed and turned into one indexed query. */
export const SCIM_FILTER_MAX_CHARS = 1_000;
/** The longest PATCH `path`, in characters. */
export const SCIM_PATH_MAX_CHARS = 1_000;
/**
 * The most operations one PATCH carries: each is applied in memory to one resource, under the
 * organisation's lock. Directories send a handful (Okta one `add` or `remove` of `members` per change,
 * Entra ID a few per provisioning cycle; AWS IAM Identity Center accepts at most 100 membership
 * changes in a request): 1,000 leaves room for any of them, and the cost of each is bounded below.
 */
export const SCIM_PATCH_OPERATIONS_MAX = 1_000;
/**
 * The most values the `value` of one operation lists (the members of an `add`, `remove` or
 * `replace` of `members`), and the most all of one PATCH's operations list together. A list longer
 * than the largest group could never be applied; directories send far fewer per request (AWS IAM
 * Identity Center takes 100), but a group may be filled in one PATCH as a PUT may, so the bound is the
 * group's. Applying a value is a lookup in an index of the group, not a walk of it (scim/patch.ts).
 */
export const SCIM_PATCH_VALUES_MAX = 10_000;
/**
 * The most attributes the value of one PATCH operation without a `path` names: each of its keys is
 * read as a path (of at most SCIM_PATH_MAX_CHARS characters) and applied as its own operation.
 */
export const SCIM_PATCH_VALUE_KEYS_MAX = 100;
/**
 * The most comparisons one filter holds (a list's `filter`, or the value filter of a PATCH path, as in
 * `members[value eq "…" or value eq "…"]`). Directories name one member per filter (Entra ID's
 * `members[value eq "…"]`); 50 is room for a hand-written chain. A chain of `value eq` comparisons is
 * applied as lookups of its values; any other filter is tested against every value of the attribute
 * (a group's 10,000 members included), at a cost counted against scim/patch.ts PATCH_WALK_STEPS_MAX.
 */
export const SCIM_FILTER_TERMS_MAX = 50;
/**
 * The most members one group holds: a change of its members re-derives the roles of at most this many
 * people, and a PATCH that would take a group past it is refused whole. Not the 50,000 people of an
 * organisation (SCIM_USERS_PER_ORGANISATION): a directory's "everyone" group is better mapped by
 * single sign-on, and at 10,000 the heaviest change of a group takes a few seconds of one connection
 * (bench/directory.ts) and applying a PATCH to it a few milliseconds of the event loop.
 */
export const SCIM_GROUP_MEMBERS_MAX = 10_000;
/** The most groups one organisation's directory holds. */
export const SCIM_GROUPS_PER_ORGANISATION = 1_000;
/** The most people one organisation's directory provisions. */
export const SCIM_USERS_PER_ORGANISATION = 50_000;
/** Resources a list answers when it names no `count`. */
export const SCIM_PAGE_DEFAULT = 100;
/** The most resources one list answers (ServiceProviderConfig's filter.maxResults); a larger `count` is taken as this. */
export const SCIM_PAGE_MAX = 200;
/**
 * The most group members one list of groups carries in all: a page of groups with their members
 * ends before the group that would pass it (at least one group is always answered), so a page stays
 * a bounded answer however large the groups.
 */
export const SCIM_LIST_MEMBERS_MAX = SCIM_GROUP_MEMBERS_MAX;
/** The longest text attribute (userName, displayName, externalId, an email…), in characters. */
export const SCIM_TEXT_MAX = 256;
/** The most values of one multi-valued attribute of a person (emails, phone numbers). */
export const SCIM_VALUES_MAX = 10;
/** The largest SCIM request body, in bytes: a group of SCIM_GROUP_MEMBERS_MAX members with room to spare. */
export const SCIM_BODY_BYTES = 2 * 1024 * 1024;
/**
 * How long one statement of a directory change (a SCIM request, or a change of what a group grants)
 * may take before it is cancelled and nothing of it kept: a group of SCIM_GROUP_MEMBERS_MAX members
 * takes a few seconds on a small, busy machine, and the organisation's lock is held meanwhile.
 */
export const SCIM_STATEMENT_TIMEOUT_MS = 30_000;

/**
 * How many changes of one organisation's directory (SCIM writes, group role mappings, single sign-on
 * settings and sign-ins) wait in each API process while one runs: they wait in memory, holding no
 * database connection, and one past the queue is a 503 with Retry-After at once. Identity providers
 * send in parallel; one organisation must not take the pool's connections from the others.
 */
export const DIRECTORY_QUEUE_PER_ORGANISATION = 16;
/** How long a change waits in that queue before it is a 503 that changed nothing. */
export const DIRECTORY_QUEUE_WAIT_MS = 30_000;

// ---- values ---------------------------------------------------------------------------------------

/** Text without control characters or lone surrogates, which no directory attribute needs and Postgres may refuse. */
const PLAIN_TEXT = /^[^\p{Cc}\p{Cs}]*$/u;

/** An optional text attribute; null or absent leaves it unassigned. */
const ScimText = z.string().max(SCIM_TEXT_MAX, `at most ${SCIM_TEXT_MAX} characters`).regex(PLAIN_TEXT, 'no control characters');

/** A required name (userName, a group's displayName): not blank. */
const ScimName = z
  .string()
  .trim()
  .min(1, 'must not be blank')
  .max(SCIM_TEXT_MAX, `at most ${SCIM_TEXT_MAX} characters`)
  .regex(PLAIN_TEXT, 'no control characters');

/** A boolean, also as the strings "true"/"false" in any case, as Entra ID sends `active` in PATCH. */
export const ScimBoolean = z
  .union([z.boolean(), z.string().regex(/^(?:true|false)$/i, 'must be true or false')])
  .transform((value) => (typeof value === 'boolean' ? value : value.toLowerCase() === 'true'));

const optional = <T extends z.ZodType>(type: T) => type.nullish();

/** One value of a multi-valued attribute of a person (an email, a phone number). */
const ScimMultiValue = z.looseObject({
  value: optional(ScimText),
  display: optional(ScimText),
  type: optional(ScimText),
  primary: optional(ScimBoolean),
});

const ScimPersonName = z.looseObject({
  formatted: optional(ScimText),
  familyName: optional(ScimText),
  givenName: optional(ScimText),
  middleName: optional(ScimText),
  honorificPrefix: optional(ScimText),
  honorificSuffix: optional(ScimText),
});

/** The manager of the enterprise extension; Entra ID sends the manager's id alone, as a string. */
const ScimManager = z.union([
  ScimText.transform((value) => ({ value })),
  z.looseObject({ value: optional(ScimText), displayName: optional(ScimText), $ref: optional(ScimText) }),
]);

/** The enterprise extension (RFC 7643 §4.3): kept as sent and answered back. */
const ScimEnterpriseUser = z.looseObject({
  employeeNumber: optional(ScimText),
  costCenter: optional(ScimText),
  organization: optional(ScimText),
  division: optional(ScimText),
  department: optional(ScimText),
  manager: optional(ScimManager),
});

const Schemas = z.array(z.string().max(200)).max(10);

/**
 * A person as the directory sends them (POST, PUT, and what a PATCH makes of the stored one). The
 * account is found or made by the primary email (or by `userName` when it is an address). Attributes
 * not listed here are ignored, `password` included (changePassword is not supported: people sign in
 * with single sign-on or a reset link), as are the read-only `id`, `meta` and `groups`.
 */
export const ScimUserRequest = z.looseObject({
  schemas: Schemas.optional(),
  userName: ScimName,
  externalId: optional(ScimText),
  name: optional(ScimPersonName),
  displayName: optional(ScimText),
  nickName: optional(ScimText),
  profileUrl: optional(ScimText),
  title: optional(ScimText),
  userType: optional(ScimText),
  preferredLanguage: optional(ScimText),
  locale: optional(ScimText),
  timezone: optional(ScimText),
  /** False deprovisions the person; absent keeps what it was (true for a new person). */
  active: optional(ScimBoolean),
  emails: optional(z.array(ScimMultiValue).max(SCIM_VALUES_MAX, `at most ${SCIM_VALUES_MAX} values`)),
  phoneNumbers: optional(z.array(ScimMultiValue).max(SCIM_VALUES_MAX, `at most ${SCIM_VALUES_MAX} values`)),
  [SCIM_SCHEMAS.enterpriseUser]: optional(ScimEnterpriseUser),
});
export type ScimUserRequest = z.output<typeof ScimUserRequest>;

/** A member as a group names it: `value` is the id of a person provisioned in the organisation. */
const ScimMemberValue = z.looseObject({
  value: z.string().max(100),
  display: optional(z.string().max(SCIM_TEXT_MAX)),
  type: optional(z.string().max(20)),
  $ref: optional(z.string().max(1_000)),
});

/** A group as the directory sends it (POST, PUT, and what a PATCH makes of the stored one). */
export const ScimGroupRequest = z.looseObject({
  schemas: Schemas.optional(),
  displayName: ScimName,
  externalId: optional(ScimText),
  /** Absent or null in a PUT leaves the group empty, as RFC 7644 §3.5.1 says. */
  members: optional(
    z
      .array(ScimMemberValue)
      .max(SCIM_GROUP_MEMBERS_MAX, `at most ${groupDigits(SCIM_GROUP_MEMBERS_MAX)} members, the most a group holds`),
  ),
});
export type ScimGroupRequest = z.output<typeof ScimGroupRequest>;

/** One PATCH operation (RFC 7644 §3.5.2); `op` in any case ("Replace" from Entra ID). */
export const ScimPatchOperation = z
  .looseObject({
    op: z
      .string()
      .max(20)
      .transform((op) => op.toLowerCase())
      .pipe(z.enum(['add', 'remove', 'replace'], 'must be add, remove or replace')),
    path: z
      .string()
      .max(SCIM_PATH_MAX_CHARS, `at most ${groupDigits(SCIM_PATH_MAX_CHARS)} characters`)
      .optional(),
    value: z.json().optional(),
  })
  .superRefine((operation, ctx) => {
    // Without a path, each key of the value is a path (RFC 7644 §3.5.2.1, §3.5.2.3): bounded in number here.
    const { path, value } = operation;
    if (Array.isArray(value) && value.length > SCIM_PATCH_VALUES_MAX) {
      ctx.addIssue({
        code: 'custom',
        path: ['value'],
        message: `at most ${groupDigits(SCIM_PATCH_VALUES_MAX)} values in one operation, the most a group holds`,
      });
    }
    if ((path === undefined || path.trim() === '') && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      if (Object.keys(value).length > SCIM_PATCH_VALUE_KEYS_MAX) {
        ctx.addIssue({
          code: 'custom',
          path: ['value'],
          message: `at most ${groupDigits(SCIM_PATCH_VALUE_KEYS_MAX)} attributes in the value of an operation without a path`,
        });
      }
    }
  });
export type ScimPatchOperation = z.output<typeof ScimPatchOperation>;

export const ScimPatchRequest = z.looseObject({
  schemas: Schemas.optional(),
  Operations: z
    .array(ScimPatchOperation)
    .min(1, 'at least one operation')
    .max(SCIM_PATCH_OPERATIONS_MAX, `at most ${groupDigits(SCIM_PATCH_OPERATIONS_MAX)} operations in one PATCH`)
    .superRefine((operations, ctx) => {
      let values = 0;
      for (const operation of operations) values += Array.isArray(operation.value) ? operation.value.length : 0;
      if (values > SCIM_PATCH_VALUES_MAX) {
        ctx.addIssue({
          code: 'custom',
          message: `at most ${groupDigits(SCIM_PATCH_VALUES_MAX)} values in all of one PATCH's operations, the most a group holds`,
        });
      }
    }),
});
export type ScimPatchRequest = z.output<typeof ScimPatchRequest>;

/** `attributes` / `excludedAttributes`: comma-separated attribute names. */
const AttributeNames = z
  .string()
  .max(SCIM_FILTER_MAX_CHARS, `at most ${groupDigits(SCIM_FILTER_MAX_CHARS)} characters`)
  .optional();

/** What a read may narrow its answer to (RFC 7644 §3.9). */
export const ScimReadQuery = z.strictObject({ attributes: AttributeNames, excludedAttributes: AttributeNames });
export type ScimReadQuery = z.output<typeof ScimReadQuery>;

/**
 * A list's query (RFC 7644 §3.4.2): `filter` (`attr eq "value"` joined by `and`), `startIndex`
 * (1-based; less than 1 is 1) and `count` (SCIM_PAGE_DEFAULT; at most SCIM_PAGE_MAX, a negative one
 * is 0). `sortBy` and `sortOrder` are taken and ignored: sorting is not supported (lists are in the
 * order resources were made).
 */
export const ScimListQuery = z.strictObject({
  filter: z
    .string()
    .max(SCIM_FILTER_MAX_CHARS, `longer than ${groupDigits(SCIM_FILTER_MAX_CHARS)} characters, the most a filter may be`)
    .optional(),
  startIndex: z.coerce.number().int().optional(),
  count: z.coerce.number().int().optional(),
  attributes: AttributeNames,
  excludedAttributes: AttributeNames,
  sortBy: z.string().max(200).optional(),
  sortOrder: z.string().max(20).optional(),
});
export type ScimListQuery = z.output<typeof ScimListQuery>;

export const ScimParams = z.strictObject({ org: WorkspaceSlug });
/** A resource's id: anything that is not one of the organisation's is a 404, as RFC 7644 §3.4.1 says. */
export const ScimResourceParams = z.strictObject({ org: WorkspaceSlug, id: z.string().max(200) });

// ---- answers --------------------------------------------------------------------------------------

export const ScimMeta = z.strictObject({
  resourceType: z.string(),
  created: Timestamp.optional(),
  lastModified: Timestamp.optional(),
  location: z.string(),
});

const ScimMultiValueOut = z.strictObject({
  value: z.string().optional(),
  display: z.string().optional(),
  type: z.string().optional(),
  primary: z.boolean().optional(),
});

/** A person as this service provider answers them. Only `schemas` and `id` are always there (`attributes` may narrow the rest). */
export const ScimUser = z.strictObject({
  schemas: z.array(z.string()),
  id: z.string(),
  externalId: z.string().optional(),
  userName: z.string().optional(),
  name: z
    .strictObject({
      formatted: z.string().optional(),
      familyName: z.string().optional(),
      givenName: z.string().optional(),
      middleName: z.string().optional(),
      honorificPrefix: z.string().optional(),
      honorificSuffix: z.string().optional(),
    })
    .optional(),
  displayName: z.string().optional(),
  nickName: z.string().optional(),
  profileUrl: z.string().optional(),
  title: z.string().optional(),
  userType: z.string().optional(),
  preferredLanguage: z.string().optional(),
  locale: z.string().optional(),
  timezone: z.string().optional(),
  active: z.boolean().optional(),
  emails: z.array(ScimMultiValueOut).optional(),
  phoneNumbers: z.array(ScimMultiValueOut).optional(),
  /** The groups of the organisation the person is in (read-only). */
  groups: z.array(z.strictObject({ value: z.string(), $ref: z.string(), display: z.string(), type: z.string() })).optional(),
  [SCIM_SCHEMAS.enterpriseUser]: z
    .strictObject({
      employeeNumber: z.string().optional(),
      costCenter: z.string().optional(),
      organization: z.string().optional(),
      division: z.string().optional(),
      department: z.string().optional(),
      manager: z
        .strictObject({ value: z.string().optional(), displayName: z.string().optional(), $ref: z.string().optional() })
        .optional(),
    })
    .optional(),
  meta: ScimMeta.optional(),
});
export type ScimUser = z.infer<typeof ScimUser>;

export const ScimGroup = z.strictObject({
  schemas: z.array(z.string()),
  id: z.string(),
  externalId: z.string().optional(),
  displayName: z.string().optional(),
  members: z
    .array(z.strictObject({ value: z.string(), $ref: z.string(), display: z.string(), type: z.literal('User') }))
    .optional(),
  meta: ScimMeta.optional(),
});
export type ScimGroup = z.infer<typeof ScimGroup>;

function listResponse<T extends z.ZodType>(item: T) {
  return z.strictObject({
    schemas: z.array(z.literal(SCIM_SCHEMAS.listResponse)),
    totalResults: z.number().int().min(0),
    itemsPerPage: z.number().int().min(0),
    startIndex: z.number().int().min(1),
    Resources: z.array(item),
  });
}

export const ScimUserListResponse = listResponse(ScimUser);
export type ScimUserListResponse = z.infer<typeof ScimUserListResponse>;
export const ScimGroupListResponse = listResponse(ScimGroup);
export type ScimGroupListResponse = z.infer<typeof ScimGroupListResponse>;

/** The discovery documents (RFC 7644 §4), as JSON objects with their schemas and ids. */
export const ScimServiceProviderConfig = z.looseObject({ schemas: z.array(z.string()), meta: ScimMeta });
export const ScimResourceType = z.looseObject({
  schemas: z.array(z.string()),
  id: z.string(),
  name: z.string(),
  endpoint: z.string(),
  schema: z.string(),
  meta: ScimMeta,
});
export const ScimResourceTypeListResponse = listResponse(ScimResourceType);
export const ScimSchemaDocument = z.looseObject({
  schemas: z.array(z.string()),
  id: z.string(),
  name: z.string(),
  attributes: z.array(z.looseObject({ name: z.string(), type: z.string() })),
  meta: ScimMeta,
});
export const ScimSchemaListResponse = listResponse(ScimSchemaDocument);

/** RFC 7644 §3.12 `scimType` keywords. */
export const ScimErrorType = z.enum([
  'invalidFilter',
  'tooMany',
  'uniqueness',
  'mutability',
  'invalidSyntax',
  'invalidPath',
  'noTarget',
  'invalidValue',
  'invalidVers',
  'sensitive',
]);
export type ScimErrorType = z.infer<typeof ScimErrorType>;

/** Every error on a SCIM path (RFC 7644 §3.12): the HTTP status as a string, field paths in `detail`. */
export const ScimError = z.strictObject({
  schemas: z.tuple([z.literal(SCIM_SCHEMAS.error)]),
  status: z.string(),
  scimType: ScimErrorType.optional(),
  detail: z.string().optional(),
});
export type ScimError = z.infer<typeof ScimError>;

/** Where an organisation's SCIM service provider lives, under the API's prefix (with `:org`). */
export const SCIM_BASE_PATH = '/organisations/:org/scim/v2';
