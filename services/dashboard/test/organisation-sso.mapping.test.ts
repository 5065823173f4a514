import { describe, expect, it } from 'vitest';
import type { ApiFailure } from '../src/api/client.js';
import {
  addMappingRow,
  callbackUri,
  checkMapping,
  mappingRequest,
  mappingRows,
  mappingSavedText,
  parseDomains,
  placeErrors,
  problemErrors,
  sameMapping,
  settingsDraft,
  settingsRequest,
  settingsSavedText,
  signInLink,
  workspaceChoices,
} from '../src/lib/organisation-sso.js';
import { organisationSso } from './organisation-sso.support.js';
import { refused } from './refused.support.js';

const SSO = organisationSso({
  groupsClaim: 'roles',
  groupRoles: [
    { group: 'data', workspace: 'default', role: 'viewer' },
    { group: 'ml-platform', workspace: 'vision', role: 'developer' },
  ],
});

describe('what the organisation registers and shares', () => {
  it('gives the redirect URI at the origin the browser reached before the API has said it', () => {
    expect(callbackUri('http://127.0.0.1:4200/')).toBe('http://127.0.0.1:4200/api/v1/auth/oidc/callback');
  });

  it("makes the sign-in link absolute at the server's own origin, whatever path the redirect URI has", () => {
    expect(signInLink(SSO)).toBe('https://outpost.acme.example/api/v1/auth/oidc/organisations/acme/start');
  });
});

describe("the provider's settings form", () => {
  it('reads domains separated by commas or spaces as the API takes them: lower-case, without @ or repeats', () => {
    expect(parseDomains(' Example.com, @example.com  acme.org,,\nacme.org ')).toEqual(['example.com', 'acme.org']);
    expect(parseDomains('  ')).toEqual([]);
  });

  it('opens on what is configured, or blank with the default groups claim for a first set-up', () => {
    expect(settingsDraft(SSO)).toEqual({
      issuer: SSO.issuer,
      clientId: 'outpost',
      secret: '',
      publicClient: false,
      domains: 'acme.example, acme.org',
      groupsClaim: 'roles',
    });
    expect(settingsDraft(null)).toMatchObject({ issuer: '', publicClient: false, domains: '', groupsClaim: 'groups' });
  });

  it('sends no mapping, so that the API keeps it, keeps a stored secret the form left blank, and says which settings it changes', () => {
    const request = settingsRequest({ ...settingsDraft(SSO), clientId: ' outpost-2 ', groupsClaim: ' ' }, SSO);
    expect(request).toEqual({
      ok: true,
      body: {
        issuer: SSO.issuer,
        clientId: 'outpost-2',
        allowedDomains: ['acme.example', 'acme.org'],
        groupsClaim: 'groups',
        expectedUpdatedAt: SSO.updatedAt,
      },
    });
    // A first set-up has nothing to have changed since.
    const first = settingsRequest(
      { ...settingsDraft(null), issuer: SSO.issuer, clientId: 'c', domains: 'acme.example', publicClient: true },
      null,
    );
    expect(first.ok && 'expectedUpdatedAt' in first.body).toBe(false);
  });

  it('sends a new secret as typed, and null for a public client', () => {
    const draft = { ...settingsDraft(SSO), secret: ' s3cret ' };
    expect(settingsRequest(draft, SSO)).toMatchObject({ ok: true, body: { clientSecret: ' s3cret ' } });
    expect(settingsRequest({ ...draft, publicClient: true }, SSO)).toMatchObject({ ok: true, body: { clientSecret: null } });
  });

  it('says under each field what a first set-up lacks before calling the API', () => {
    const request = settingsRequest(settingsDraft(null), null);
    expect(request.ok).toBe(false);
    if (request.ok) return;
    expect(Object.keys(request.errors).sort()).toEqual(['allowedDomains', 'clientId', 'clientSecret', 'issuer']);
    expect(request.errors.clientSecret).toEqual(['enter it, or mark the client as public if the provider issued none']);
  });

  it('says after a save what is left to do, and that a domain not yet verified signs nobody in', () => {
    expect(settingsSavedText(SSO, true)).toBe(
      'Saved. Publish the TXT record of acme.org and verify it: until then nobody at that domain signs in. Map the groups of the ID token to workspace roles below.',
    );
    const unproven = SSO.domains.map((d) => ({ ...d, verified: false, verifiedAt: null }));
    expect(settingsSavedText({ domains: unproven }, false)).toBe(
      'Saved the provider; the mapping of groups is unchanged. Publish the TXT record of acme.example and acme.org and verify them: until then nobody at those domains signs in.',
    );
    const proven = SSO.domains.map((d) => ({ ...d, verified: true }));
    expect(settingsSavedText({ domains: proven }, false)).toBe('Saved the provider; the mapping of groups is unchanged.');
  });

  it("refuses what the contract refuses, naming the domain that is not one, in the contract's words", () => {
    const request = settingsRequest(
      { ...settingsDraft(SSO), domains: 'acme.example, not_a.example', groupsClaim: 'my groups' },
      SSO,
    );
    expect(request.ok).toBe(false);
    if (request.ok) return;
    expect(request.errors.allowedDomains).toEqual(['not_a.example: a lowercase domain name such as example.com']);
    expect(request.errors.groupsClaim?.[0]).toMatch(/a claim name such as groups/);
  });
});

describe('the mapping of the groups claim to roles', () => {
  it('starts with a row per saved grant and adds empty rows with the weakest role and a new id', () => {
    const rows = mappingRows(SSO.groupRoles);
    expect(rows).toEqual([
      { id: 0, group: 'data', workspace: 'default', role: 'viewer' },
      { id: 1, group: 'ml-platform', workspace: 'vision', role: 'developer' },
    ]);
    const more = addMappingRow(rows.slice(1));
    expect(more.at(-1)).toEqual({ id: 2, group: '', workspace: '', role: 'viewer' });
    expect(addMappingRow([])).toEqual([{ id: 0, group: '', workspace: '', role: 'viewer' }]);
  });

  it('sends the whole request: the provider as configured, without its secret, as of when it was read, and every row trimmed', () => {
    const rows = [...mappingRows(SSO.groupRoles), { id: 5, group: '  ops ', workspace: 'vision', role: 'runner' as const }];
    expect(mappingRequest(SSO, rows)).toEqual({
      issuer: SSO.issuer,
      clientId: 'outpost',
      allowedDomains: ['acme.example', 'acme.org'],
      groupsClaim: 'roles',
      expectedUpdatedAt: SSO.updatedAt,
      groupRoles: [...SSO.groupRoles, { group: 'ops', workspace: 'vision', role: 'runner' }],
    });
    expect(mappingRequest(SSO, [])).toMatchObject({ groupRoles: [] });
  });

  it('tells changed rows from the saved mapping whatever their order', () => {
    const rows = mappingRows(SSO.groupRoles);
    expect(sameMapping([...rows].reverse(), SSO.groupRoles)).toBe(true);
    expect(sameMapping(rows.slice(1), SSO.groupRoles)).toBe(false);
    expect(
      sameMapping(
        rows.map((r) => (r.id === 1 ? { ...r, role: 'admin' as const } : r)),
        SSO.groupRoles,
      ),
    ).toBe(false);
    expect(sameMapping(addMappingRow(rows), SSO.groupRoles)).toBe(false);
    expect(sameMapping([], [])).toBe(true);
  });

  it('finds a blank group, an unchosen workspace and a second grant of a group in a workspace before sending', () => {
    const checked = checkMapping([
      { id: 0, group: 'data', workspace: 'default', role: 'viewer' },
      { id: 3, group: ' ', workspace: '', role: 'viewer' },
      { id: 4, group: 'data ', workspace: 'default', role: 'admin' },
    ]);
    expect(checked).toEqual({
      rows: {
        3: { group: ['enter the value the groups claim lists, e.g. ml-platform'], workspace: ['choose a workspace'] },
        4: { workspace: ['the group "data" is given a role in "default" more than once'] },
      },
      other: [],
    });
    expect(checkMapping(mappingRows(SSO.groupRoles))).toEqual({ rows: {}, other: [] });
  });

  it('says in a sentence what a save left each group granting', () => {
    expect(
      mappingSavedText([
        { group: 'data', workspace: 'default', role: 'viewer' },
        { group: 'data', workspace: 'vision', role: 'runner' },
        { group: 'ml-platform', workspace: 'vision', role: 'developer' },
      ]),
    ).toBe(
      'Saved: data grants viewer in default and runner in vision; ml-platform grants developer in vision. It applies at once to everyone who signed in through the organisation.',
    );
    expect(mappingSavedText([])).toBe('Saved: the groups claim grants no workspace role.');
  });

  it("offers the organisation's workspaces, marks the archived, and keeps one a saved grant names that the list lacks", () => {
    const choices = workspaceChoices(
      [
        { slug: 'default', name: 'Default', archivedAt: null },
        { slug: 'old', name: 'Old', archivedAt: '2026-01-01T00:00:00.000Z' },
      ],
      [
        { id: 0, group: 'data', workspace: 'gone', role: 'viewer' },
        { id: 1, group: 'new', workspace: '', role: 'viewer' },
      ],
    );
    expect(choices).toEqual([
      { slug: 'default', label: 'default' },
      { slug: 'old', label: 'old (archived)' },
      { slug: 'gone', label: 'gone (not a workspace of the organisation)' },
    ]);
  });
});

describe("a refused save's errors", () => {
  const rows = [
    { id: 7, group: 'data', workspace: 'default', role: 'viewer' as const },
    { id: 9, group: 'ml-platform', workspace: 'visoin', role: 'developer' as const },
  ];
  const sent = mappingRequest(SSO, rows);
  /** Where the form shows each error of the API's 400 refusing `sent`. */
  const place = (errors: { path: string; message: string }[]) => placeErrors(problemErrors(refused(400, errors)), sent, rows);

  it('places an error about one grant in the row that made it, by the control it is about, whatever form the path takes', () => {
    const placed = place([
      { path: 'body.groupRoles.1.workspace', message: 'no workspace of this organisation is named "visoin"' },
      { path: '/body/groupRoles/0/role', message: 'must be one of admin, developer, runner, viewer' },
      { path: 'body.groupRoles[1].group', message: 'too long' },
      { path: 'body.groupRoles.0', message: 'unknown key "x"' },
    ]);
    expect(placed).toEqual({
      fields: {},
      rows: {
        9: { workspace: ['no workspace of this organisation is named "visoin"'], group: ['too long'] },
        7: { role: ['must be one of admin, developer, runner, viewer'], row: ['unknown key "x"'] },
      },
      other: [],
    });
  });

  it('places a field of the settings under it, and leaves the list itself or a grant no row made to the whole', () => {
    const placed = place([
      { path: 'body.issuer', message: 'resolves to a private address' },
      { path: 'body.allowedDomains.1', message: 'a lowercase domain name such as example.com' },
      { path: 'body.groupRoles', message: 'at most 1000' },
      { path: 'body.groupRoles.5.workspace', message: 'unknown' },
      { path: 'body', message: 'malformed' },
    ]);
    expect(placed).toEqual({
      fields: {
        issuer: ['resolves to a private address'],
        allowedDomains: ['acme.org: a lowercase domain name such as example.com'],
      },
      rows: {},
      other: ['groupRoles: at most 1000', 'groupRoles.5.workspace: unknown', 'malformed'],
    });
  });

  it('has nothing to place when the failure carries no field errors', () => {
    expect(problemErrors({ ok: false, kind: 'network_error', message: 'down', cause: null } as ApiFailure)).toEqual([]);
    expect(placeErrors([], sent, rows)).toEqual({ fields: {}, rows: {}, other: [] });
  });
});
