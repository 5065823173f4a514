import { SCIM_MEDIA_TYPE, SCIM_SCHEMAS } from '@outpost/sdk/contracts';
import type { TestServer } from '../src/testing/index.js';
import { type Reply, replyOf } from './helpers.js';

/*
 * A small SCIM client, as a directory (Okta, Entra ID) talks to the service provider: bearer token,
 * application/scim+json both ways, paths relative to the organisation's base URL. The RFC's examples
 * below are copied from RFC 7643 §8 and RFC 7644 §3, with the ids the RFC invents left out (the
 * service provider gives its own).
 */

export interface ScimClient {
  /** `/api/v1/organisations/<org>/scim/v2` */
  base: string;
  get(path: string): Promise<Reply>;
  post(path: string, body: unknown): Promise<Reply>;
  put(path: string, body: unknown): Promise<Reply>;
  patch(path: string, operations: unknown[]): Promise<Reply>;
  delete(path: string): Promise<Reply>;
  /** Any request, with a body sent as written (for malformed input). */
  send(
    method: string,
    path: string,
    options?: { raw?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<Reply>;
}

export function scimClient(server: Pick<TestServer, 'app'>, org: string, token: string): ScimClient {
  const base = `/api/v1/organisations/${org}/scim/v2`;
  const send: ScimClient['send'] = async (method, path, options = {}) => {
    const headers: Record<string, string> = {
      authorization: `Bearer ${token}`,
      accept: SCIM_MEDIA_TYPE,
      ...(options.body !== undefined || options.raw !== undefined ? { 'content-type': SCIM_MEDIA_TYPE } : {}),
      ...options.headers,
    };
    const body = options.raw ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
    const res = await server.app.request(`${base}${path}`, { method, headers, body });
    return replyOf(res);
  };
  return {
    base,
    send,
    get: (path) => send('GET', path),
    post: (path, body) => send('POST', path, { body }),
    put: (path, body) => send('PUT', path, { body }),
    patch: (path, operations) => send('PATCH', path, { body: { schemas: [SCIM_SCHEMAS.patchOp], Operations: operations } }),
    delete: (path) => send('DELETE', path),
  };
}

/** RFC 7643 §8.1: the minimal user (userName an address, so it finds or makes the account). */
export function minimalUser(userName: string) {
  return { schemas: [SCIM_SCHEMAS.user], userName };
}

/** RFC 7643 §8.2: the full user, as the RFC writes it (addresses, ims, photos, x509Certificates and password included). */
export function fullUser(userName: string, email: string) {
  return {
    schemas: [SCIM_SCHEMAS.user],
    id: '2819c223-7f76-453a-919d-413861904646',
    externalId: `${userName}-external`,
    meta: {
      resourceType: 'User',
      created: '2010-01-23T04:56:22Z',
      lastModified: '2011-05-13T04:42:34Z',
      version: 'W/"a330bc54f0671c9"',
      location: 'https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646',
    },
    name: {
      formatted: 'Ms. Barbara J Jensen, III',
      familyName: 'Jensen',
      givenName: 'Barbara',
      middleName: 'Jane',
      honorificPrefix: 'Ms.',
      honorificSuffix: 'III',
    },
    userName,
    displayName: 'Babs Jensen',
    nickName: 'Babs',
    profileUrl: 'https://login.example.com/bjensen',
    emails: [
      { value: email, type: 'work', primary: true },
      { value: `home-${email}`, type: 'home' },
    ],
    addresses: [
      {
        type: 'work',
        streetAddress: '100 Universal City Plaza',
        locality: 'Hollywood',
        region: 'CA',
        postalCode: '91608',
        country: 'USA',
        formatted: '100 Universal City Plaza\nHollywood, CA 91608 USA',
        primary: true,
      },
    ],
    phoneNumbers: [
      { value: '555-555-5555', type: 'work' },
      { value: '555-555-4444', type: 'mobile' },
    ],
    ims: [{ value: 'someaimhandle', type: 'aim' }],
    photos: [{ value: 'https://photos.example.com/profilephoto/72930000000Ccne/F', type: 'photo' }],
    userType: 'Employee',
    title: 'Tour Guide',
    preferredLanguage: 'en-US',
    locale: 'en-US',
    timezone: 'America/Los_Angeles',
    active: true,
    password: 't1meMa$heen',
    groups: [
      { value: 'e9e30dba-f08f-4109-8486-d5c6a331660a', $ref: 'https://example.com/v2/Groups/e9e30dba', display: 'Tour Guides' },
    ],
    x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMx' }],
  };
}

/** RFC 7643 §8.3: the enterprise extension of the full user. */
export function enterpriseExtension() {
  return {
    employeeNumber: '701984',
    costCenter: '4130',
    organization: 'Universal Studios',
    division: 'Theme Park',
    department: 'Tour Operations',
    manager: {
      value: '26118915-6090-4610-87e4-49d8ca9f808d',
      $ref: '../Users/26118915-6090-4610-87e4-49d8ca9f808d',
      displayName: 'John Smith',
    },
  };
}

/** RFC 7643 §8.4: a group, its members the ids of people provisioned in the organisation. */
export function tourGuides(displayName: string, members: { value: string; display: string }[]) {
  return { schemas: [SCIM_SCHEMAS.group], displayName, members };
}

/** RFC 7644 §3.3: the create request, with the work address the service provider needs to find or make the account. */
export function createRequest(userName: string, email: string) {
  return {
    schemas: [SCIM_SCHEMAS.user],
    userName,
    externalId: userName,
    name: { formatted: 'Ms. Barbara J Jensen III', familyName: 'Jensen', givenName: 'Barbara' },
    emails: [{ value: email, type: 'work', primary: true }],
  };
}

/**
 * Records `domain` as proven by the organisation, as its owner's DNS check does
 * (identity/organisation-sso-handlers.ts): the directory makes and links accounts at its addresses. Anywhere
 * else it provisions people as pending, with no account (test/scim.domain-proof.test.ts).
 */
export async function proveDomain(server: Pick<TestServer, 'sql'>, organisationId: string, domain: string): Promise<void> {
  await server.sql`
    INSERT INTO organisation_domains (organisation_id, domain, token, verified_at)
    VALUES (${organisationId}, ${domain}, ${`proven-${domain}`}, now())
    ON CONFLICT (organisation_id, domain) DO UPDATE SET verified_at = now()`;
}

let counter = 0;
/** A fresh name per call, so tests never collide. */
export function fresh(tag: string): string {
  return `${tag}-${Date.now().toString(36)}-${++counter}`;
}
