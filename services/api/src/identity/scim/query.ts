import { scimBadRequest } from '../../http/scim-errors.js';
import type { GroupCondition, UserCondition } from '../db/directory.js';
import { GROUP_SCHEMA, type ResourceSchema, resolveAttribute, USER_SCHEMA } from './attributes.js';
import { type FilterNode, type FilterValue, parseFilter, terms } from './filter.js';

/*
 * A list's filter as the conditions db/directory.ts turns into one indexed query: `eq` comparisons of
 * the attributes below, joined by `and` (RFC 7644 §3.4.2.2). That is what directories send (Okta and
 * Entra ID look people and groups up by userName, externalId, emails and displayName); anything else
 * is a 400 invalidFilter that says what is supported, rather than a scan of the whole directory.
 */

/** `attr eq value`, also written `attr[value eq "…"]` for a multi-valued attribute. */
function equality(node: FilterNode): { attr: string; value: FilterValue } | null {
  if (node.kind === 'compare' && node.op === 'eq') return { attr: node.attr, value: node.value };
  if (node.kind === 'complex' && node.filter.kind === 'compare' && node.filter.op === 'eq') {
    if (node.filter.attr.toLowerCase() === 'value') return { attr: `${node.attr}.value`, value: node.filter.value };
  }
  return null;
}

/** Each supported attribute, by `name` or `name.sub` as the attribute table spells it, and what its value must be. */
type Supported<C> = Record<string, (value: FilterValue) => C | null>;

function conditionsOf<C>(schema: ResourceSchema, filter: string | undefined, supported: Supported<C>, names: string): C[] {
  if (filter === undefined || filter.trim() === '') return [];
  const refuse = (what: string): never => {
    throw scimBadRequest('invalidFilter', `${what}: this service provider filters ${names} with "eq", joined by "and"`);
  };
  return terms(parseFilter(filter), 'and').map((node) => {
    const found = equality(node);
    if (!found) return refuse(node.kind === 'or' ? '"or" is not supported' : 'only "eq" comparisons are supported');
    const resolved = resolveAttribute(schema, found.attr);
    const key = resolved?.attribute
      ? resolved.sub
        ? `${resolved.attribute.name}.${resolved.sub.name}`
        : resolved.attribute.name
      : null;
    const make = key === null || resolved?.extension ? undefined : supported[key];
    if (!make) return refuse(`"${found.attr}" cannot be filtered`);
    const condition = make(found.value);
    if (condition === null)
      return refuse(`"${found.attr}" is compared with ${typeof found.value === 'string' ? 'true or false' : 'a quoted string'}`);
    return condition;
  });
}

const text =
  <A extends string>(attr: A) =>
  (value: FilterValue) =>
    typeof value === 'string' ? { attr, value } : null;

const USER_FILTERS: Supported<UserCondition> = {
  id: text('id'),
  userName: text('userName'),
  externalId: text('externalId'),
  emails: text('email'),
  'emails.value': text('email'),
  active: (value) => (typeof value === 'boolean' ? { attr: 'active', value } : null),
};

const GROUP_FILTERS: Supported<GroupCondition> = {
  id: text('id'),
  displayName: text('displayName'),
  externalId: text('externalId'),
  members: text('member'),
  'members.value': text('member'),
};

export function userConditions(filter: string | undefined): UserCondition[] {
  return conditionsOf(USER_SCHEMA, filter, USER_FILTERS, 'people by userName, externalId, id, emails.value and active');
}

export function groupConditions(filter: string | undefined): GroupCondition[] {
  return conditionsOf(GROUP_SCHEMA, filter, GROUP_FILTERS, 'groups by displayName, externalId, id and members.value');
}
