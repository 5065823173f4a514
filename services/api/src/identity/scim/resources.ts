import {
  API_PREFIX,
  SCIM_SCHEMAS,
  type ScimGroup,
  type ScimGroupRequest,
  type ScimReadQuery,
  type ScimUser,
  type ScimUserRequest,
} from '@outpost/sdk/contracts';
import type { DirectoryGroupRecord, DirectoryUser, GroupMember } from '../db/directory.js';
import { type ResourceSchema, resolveAttribute } from './attributes.js';

/*
 * Resources as SCIM answers them (RFC 7643 §4), made from what db/directory.ts stores, and what is
 * stored of a person's attributes: the ones this service provider keeps (attributes.ts), each value
 * as sent, nothing else. Unassigned attributes are left out of the answer, as RFC 7643 §2.5 says.
 */

type Obj = Record<string, unknown>;

const ENTERPRISE = SCIM_SCHEMAS.enterpriseUser;

/** Where the organisation's SCIM service provider answers, as an absolute URL: `meta.location` and `$ref` start with it. */
export function scimBaseUrl(publicUrl: string, organisationSlug: string): string {
  return `${publicUrl.replace(/\/+$/, '')}${API_PREFIX}/organisations/${organisationSlug}/scim/v2`;
}

/** A text attribute as kept: an empty or absent one is unassigned. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** `source`'s keys that hold text, as kept. */
function texts<K extends string>(source: unknown, keys: readonly K[]): Partial<Record<K, string>> | undefined {
  if (source === null || typeof source !== 'object') return undefined;
  const out: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = text((source as Obj)[key]);
    if (value !== undefined) out[key] = value;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

const NAME_PARTS = ['formatted', 'familyName', 'givenName', 'middleName', 'honorificPrefix', 'honorificSuffix'] as const;
const SIMPLE = ['displayName', 'nickName', 'profileUrl', 'title', 'userType', 'preferredLanguage', 'locale', 'timezone'] as const;
const ENTERPRISE_TEXTS = ['employeeNumber', 'costCenter', 'organization', 'division', 'department'] as const;

type MultiValue = { value?: string; display?: string; type?: string; primary?: boolean };

function multiValues(values: unknown): MultiValue[] | undefined {
  if (!Array.isArray(values)) return undefined;
  const kept: MultiValue[] = [];
  for (const item of values) {
    const value: MultiValue = { ...texts(item, ['value', 'display', 'type'] as const) };
    if (typeof (item as Obj | null)?.primary === 'boolean') value.primary = (item as Obj).primary as boolean;
    if (Object.keys(value).length > 0) kept.push(value);
  }
  return kept.length > 0 ? kept : undefined;
}

/**
 * What is kept of a person's attributes besides userName, externalId and active: the ones this
 * service provider answers back, each as sent. Anything else the directory sent is dropped here.
 */
export function keptUserAttributes(body: ScimUserRequest): Obj {
  const kept: Obj = {};
  const name = texts(body.name, NAME_PARTS);
  if (name) kept.name = name;
  Object.assign(kept, texts(body, SIMPLE));
  const emails = multiValues(body.emails);
  if (emails) kept.emails = emails;
  const phoneNumbers = multiValues(body.phoneNumbers);
  if (phoneNumbers) kept.phoneNumbers = phoneNumbers;
  const enterprise = body[ENTERPRISE];
  if (enterprise) {
    const extension: Obj = { ...texts(enterprise, ENTERPRISE_TEXTS) };
    const manager = texts(enterprise.manager, ['value', 'displayName', '$ref'] as const);
    if (manager) extension.manager = manager;
    if (Object.keys(extension).length > 0) kept[ENTERPRISE] = extension;
  }
  return kept;
}

/** The name a new account takes from what the directory sent: displayName, else the formatted or given and family name. */
export function accountName(body: ScimUserRequest): string | null {
  const parts = [body.name?.givenName, body.name?.familyName].filter((p): p is string => typeof p === 'string' && p !== '');
  return text(body.displayName) ?? text(body.name?.formatted) ?? (parts.length > 0 ? parts.join(' ') : null);
}

/** A person's resource with every attribute that is assigned. */
export function renderUser(user: DirectoryUser, groups: { id: string; displayName: string }[] | null, base: string): ScimUser {
  const a = user.attributes;
  const enterprise = a[ENTERPRISE] as ScimUser[typeof ENTERPRISE];
  const resource: ScimUser = {
    schemas: enterprise ? [SCIM_SCHEMAS.user, ENTERPRISE] : [SCIM_SCHEMAS.user],
    id: user.id,
    ...(user.externalId !== null ? { externalId: user.externalId } : {}),
    userName: user.userName,
    ...(a.name ? { name: a.name as ScimUser['name'] } : {}),
    ...texts(a, SIMPLE),
    active: user.active,
    ...(a.emails ? { emails: a.emails as MultiValue[] } : {}),
    ...(a.phoneNumbers ? { phoneNumbers: a.phoneNumbers as MultiValue[] } : {}),
    ...(groups && groups.length > 0
      ? {
          groups: groups.map((g) => ({ value: g.id, $ref: `${base}/Groups/${g.id}`, display: g.displayName, type: 'direct' })),
        }
      : {}),
    ...(enterprise ? { [ENTERPRISE]: enterprise } : {}),
    meta: {
      resourceType: 'User',
      created: user.createdAt.toISOString(),
      lastModified: user.updatedAt.toISOString(),
      location: `${base}/Users/${user.id}`,
    },
  };
  return resource;
}

/** A person as a PUT body would carry them: what a PATCH starts from. */
export function userDocument(user: DirectoryUser): Obj {
  const enterprise = user.attributes[ENTERPRISE];
  return structuredClone({
    schemas: enterprise ? [SCIM_SCHEMAS.user, ENTERPRISE] : [SCIM_SCHEMAS.user],
    userName: user.userName,
    ...(user.externalId !== null ? { externalId: user.externalId } : {}),
    ...user.attributes,
    active: user.active,
  });
}

/** A group's resource; `members` null leaves them out (not asked for). */
export function renderGroup(group: DirectoryGroupRecord, members: GroupMember[] | null, base: string): ScimGroup {
  return {
    schemas: [SCIM_SCHEMAS.group],
    id: group.id,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    displayName: group.displayName,
    ...(members && members.length > 0
      ? {
          members: members.map((m) => ({
            value: m.userId,
            $ref: `${base}/Users/${m.userId}`,
            display: m.display,
            type: 'User' as const,
          })),
        }
      : {}),
    meta: {
      resourceType: 'Group',
      created: group.createdAt.toISOString(),
      lastModified: group.updatedAt.toISOString(),
      location: `${base}/Groups/${group.id}`,
    },
  };
}

/** A group as a PUT body would carry it: what a PATCH starts from. */
export function groupDocument(group: DirectoryGroupRecord, memberIds: readonly string[]): Obj {
  return {
    schemas: [SCIM_SCHEMAS.group],
    displayName: group.displayName,
    ...(group.externalId !== null ? { externalId: group.externalId } : {}),
    ...(memberIds.length > 0 ? { members: memberIds.map((value) => ({ value })) } : {}),
  };
}

/** The member ids a group's body names, lowercased (ids compare regardless of case) and each once. */
export function memberValues(body: ScimGroupRequest): string[] {
  return [...new Set((body.members ?? []).map((m) => m.value.toLowerCase()))];
}

// ---- attributes / excludedAttributes (RFC 7644 §3.9) ----------------------------------------------

/** Attributes answered whatever is asked: the resource's schemas and id. */
const ALWAYS = new Set(['schemas', 'id']);

/** For each top-level attribute named, the sub-attributes named (null: the whole attribute). */
type Named = Map<string, Set<string> | null>;

export interface Projection {
  /** Only these (with ALWAYS), when `attributes` was given. */
  only: Named | null;
  /** Never these, when `excludedAttributes` was given (and `attributes` was not). */
  without: Named;
}

function named(schema: ResourceSchema, list: string | undefined): Named {
  const out: Named = new Map();
  for (const raw of (list ?? '').split(',')) {
    const resolved = raw.trim() === '' ? null : resolveAttribute(schema, raw.trim());
    // An attribute this service provider does not have is simply not answered, asked for or not.
    if (!resolved) continue;
    // An extension's attributes live under its URN: its `department` is the sub-attribute there.
    let key: string;
    let sub: string | null;
    if (resolved.extension !== null) {
      key = resolved.extension;
      const inner = resolved.attribute?.name;
      sub = inner === undefined ? null : resolved.sub ? `${inner}.${resolved.sub.name}` : inner;
    } else {
      key = resolved.attribute?.name ?? '';
      sub = resolved.sub?.name ?? null;
    }
    const held = out.get(key);
    if (held === null) continue;
    if (sub === null) out.set(key, null);
    else out.set(key, new Set([...(held ?? []), sub]));
  }
  return out;
}

export function projection(schema: ResourceSchema, query: ScimReadQuery | undefined): Projection {
  if (query?.attributes !== undefined && query.attributes.trim() !== '') {
    return { only: named(schema, query.attributes), without: new Map() };
  }
  return { only: null, without: named(schema, query?.excludedAttributes) };
}

/** Whether the answer carries `key` at all: what is not answered need not be read (a group's members). */
export function answers(p: Projection, key: string): boolean {
  if (ALWAYS.has(key)) return true;
  if (p.only) return p.only.has(key);
  return p.without.get(key) !== null || !p.without.has(key);
}

/** `value` keeping only (or dropping) these sub-attributes; of a multi-valued attribute, in each value. */
function narrow(value: unknown, subs: Set<string>, keep: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => narrow(item, subs, keep));
  if (value === null || typeof value !== 'object') return value;
  const out: Obj = {};
  for (const [key, inner] of Object.entries(value as Obj)) {
    const nested = [...subs].filter((s) => s.startsWith(`${key}.`)).map((s) => s.slice(key.length + 1));
    if (nested.length > 0 && !subs.has(key)) {
      const narrowed = narrow(inner, new Set(nested), keep);
      out[key] = narrowed;
    } else if (subs.has(key) === keep) {
      out[key] = inner;
    }
  }
  return out;
}

/** The resource as the query asked for it. */
export function project<T extends Obj>(resource: T, p: Projection): T {
  if (!p.only && p.without.size === 0) return resource;
  const out: Obj = {};
  for (const [key, value] of Object.entries(resource)) {
    if (ALWAYS.has(key)) {
      out[key] = value;
      continue;
    }
    const subs = p.only ? p.only.get(key) : p.without.get(key);
    if (p.only) {
      if (subs === undefined) continue;
      out[key] = subs === null ? value : narrow(value, subs, true);
    } else if (subs === undefined) {
      out[key] = value;
    } else if (subs !== null) {
      out[key] = narrow(value, subs, false);
    }
  }
  return out as T;
}
