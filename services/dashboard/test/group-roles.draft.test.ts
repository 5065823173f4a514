import type { DirectoryGroupRole } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import type { ApiFailure } from '../src/api/client.js';
import { appendPage, replaceItem } from '../src/hooks/use-cursor-list.js';
import {
  draftRoles,
  GROUP_ROLES_WEAKEST_FIRST,
  type GroupWorkspace,
  markdownSection,
  roleDraft,
  roleErrors,
  roleRows,
  rolesText,
  SCIM_GUIDE_MATCH,
  sameRoles,
  savedText,
  scimBaseUrl,
} from '../src/lib/group-roles.js';
import { refused } from './refused.support.js';

const WORKSPACES: GroupWorkspace[] = [
  { slug: 'default', name: 'Default', archivedAt: null },
  { slug: 'vision', name: 'Vision team', archivedAt: null },
  { slug: 'old', name: 'Old', archivedAt: '2026-01-01T00:00:00.000Z' },
];

describe("a group's roles as the editor holds them", () => {
  it('offers none and then the roles weakest first, never owner', () => {
    expect(GROUP_ROLES_WEAKEST_FIRST).toEqual(['viewer', 'runner', 'developer', 'admin']);
  });

  it('has a row per workspace of the organisation in its order, then any workspace the group names that the list lacks', () => {
    const rows = roleRows(WORKSPACES, [
      { workspace: 'gone', role: 'viewer' },
      { workspace: 'vision', role: 'developer' },
    ]);
    expect(rows).toEqual([
      { slug: 'default', name: 'Default', archived: false, listed: true },
      { slug: 'vision', name: 'Vision team', archived: false, listed: true },
      { slug: 'old', name: 'Old', archived: true, listed: true },
      { slug: 'gone', name: 'gone', archived: false, listed: false },
    ]);
  });

  it("starts each row at the group's role there or none, and sends only the rows given a role, in the rows' order", () => {
    const roles: DirectoryGroupRole[] = [
      { workspace: 'vision', role: 'developer' },
      { workspace: 'default', role: 'viewer' },
    ];
    const rows = roleRows(WORKSPACES, roles);
    const draft = roleDraft(rows, roles);
    expect(draft).toEqual({ default: 'viewer', vision: 'developer', old: null });
    expect(draftRoles(rows, draft)).toEqual([
      { workspace: 'default', role: 'viewer' },
      { workspace: 'vision', role: 'developer' },
    ]);
    expect(draftRoles(rows, { ...draft, default: null, old: 'admin' })).toEqual([
      { workspace: 'vision', role: 'developer' },
      { workspace: 'old', role: 'admin' },
    ]);
  });

  it('keeps a role in a workspace the list lacks unless it is set to none, so a save never drops it unseen', () => {
    const roles: DirectoryGroupRole[] = [{ workspace: 'gone', role: 'runner' }];
    const rows = roleRows(WORKSPACES, roles);
    const draft = roleDraft(rows, roles);
    expect(draftRoles(rows, draft)).toEqual(roles);
    expect(draftRoles(rows, { ...draft, gone: null })).toEqual([]);
  });

  it('tells a changed draft from the saved roles whatever their order', () => {
    const saved: DirectoryGroupRole[] = [
      { workspace: 'vision', role: 'developer' },
      { workspace: 'default', role: 'viewer' },
    ];
    expect(sameRoles([...saved].reverse(), saved)).toBe(true);
    expect(sameRoles([{ workspace: 'vision', role: 'developer' }], saved)).toBe(false);
    expect(
      sameRoles(
        [
          { workspace: 'vision', role: 'admin' },
          { workspace: 'default', role: 'viewer' },
        ],
        saved,
      ),
    ).toBe(false);
    expect(sameRoles([], [])).toBe(true);
  });

  it('says in a sentence what a save left the group granting, and to how many people', () => {
    expect(
      savedText({
        displayName: 'Data platform',
        members: 12,
        roles: [
          { workspace: 'default', role: 'viewer' },
          { workspace: 'vision', role: 'developer' },
        ],
      }),
    ).toBe('Saved: Data platform grants viewer in default and developer in vision to its 12 members.');
    expect(savedText({ displayName: 'Ops', members: 1, roles: [{ workspace: 'vision', role: 'runner' }] })).toBe(
      'Saved: Ops grants runner in vision to its 1 member.',
    );
    expect(
      savedText({
        displayName: 'ML',
        members: 3,
        roles: [
          { workspace: 'a', role: 'viewer' },
          { workspace: 'b', role: 'runner' },
          { workspace: 'c', role: 'admin' },
        ],
      }),
    ).toBe('Saved: ML grants viewer in a, runner in b and admin in c to its 3 members.');
    expect(savedText({ displayName: 'Ops', members: 4, roles: [] })).toBe('Saved: Ops grants no workspace role.');
    expect(rolesText([{ workspace: 'vision', role: 'developer' }])).toBe('vision (developer)');
  });
});

describe("a refused save's errors", () => {
  const sent: DirectoryGroupRole[] = [
    { workspace: 'default', role: 'viewer' },
    { workspace: 'vision', role: 'developer' },
  ];

  it('places an error about one sent role in the row of its workspace, whatever form the path takes', () => {
    const placed = roleErrors(
      refused(400, [
        { path: 'body.roles.1.workspace', message: 'no workspace of this organisation is named "vision"' },
        { path: '/body/roles/0/role', message: 'must be one of admin, developer, runner, viewer' },
        { path: 'body.roles[1].role', message: 'is required' },
      ]),
      sent,
    );
    expect(placed).toEqual({
      byWorkspace: {
        vision: ['no workspace of this organisation is named "vision"', 'is required'],
        default: ['must be one of admin, developer, runner, viewer'],
      },
      other: [],
    });
  });

  it('leaves to the editor as a whole an error about the list, or about a role it did not send', () => {
    const placed = roleErrors(
      refused(400, [
        { path: 'body.roles', message: 'at most 100' },
        { path: 'body.roles.7.workspace', message: 'unknown' },
      ]),
      sent,
    );
    expect(placed).toEqual({ byWorkspace: {}, other: ['roles: at most 100', 'roles.7.workspace: unknown'] });
  });

  it('has nothing to place when the failure carries no field errors', () => {
    expect(roleErrors(refused(403, []), sent)).toEqual({ byWorkspace: {}, other: [] });
    expect(roleErrors({ ok: false, kind: 'network_error', message: 'down', cause: null } as ApiFailure, sent)).toEqual({
      byWorkspace: {},
      other: [],
    });
  });
});

describe('connecting a directory', () => {
  it("gives the SCIM base URL at the origin the browser reached, under the organisation's path", () => {
    expect(scimBaseUrl('https://outpost.example.com', 'acme')).toBe(
      'https://outpost.example.com/api/v1/organisations/acme/scim/v2',
    );
    expect(scimBaseUrl('http://127.0.0.1:4200/', 'acme')).toBe('http://127.0.0.1:4200/api/v1/organisations/acme/scim/v2');
  });

  it("takes one section of the guide, up to the next heading of its level, and no code block's comment as a heading", () => {
    const doc = [
      '# Organisations',
      '## Tokens',
      'tokens',
      '## Directory provisioning (SCIM)',
      'Connect the provider.',
      '```sh',
      '# not a heading',
      '```',
      '### Groups',
      'They grant roles.',
      '## Usage',
      'usage',
    ].join('\n');
    expect(markdownSection(doc, 'Directory provisioning (SCIM)')).toBe(
      ['Connect the provider.', '```sh', '# not a heading', '```', '### Groups', 'They grant roles.'].join('\n'),
    );
    expect(markdownSection(doc, 'Groups')).toBe('They grant roles.');
    // Found by its first words too, whatever follows them.
    expect(markdownSection(doc.replace(' (SCIM)', ''), SCIM_GUIDE_MATCH)).toMatch(/^Connect the provider\./);
    expect(markdownSection(doc, SCIM_GUIDE_MATCH)).toMatch(/^Connect the provider\./);
    expect(markdownSection(doc, 'Absent')).toBeNull();
  });
});

describe('a list read page by page', () => {
  const id = (item: { id: string }) => item.id;

  it('appends a further page without showing an item twice', () => {
    expect(appendPage([{ id: 'a' }, { id: 'b' }], [{ id: 'b' }, { id: 'c' }], id)).toEqual([
      { id: 'a' },
      { id: 'b' },
      { id: 'c' },
    ]);
  });

  it('shows an item as a write answered it, in its place, and leaves a list without it as it was', () => {
    const list = [
      { id: 'a', n: 1 },
      { id: 'b', n: 1 },
    ];
    expect(replaceItem(list, { id: 'b', n: 2 }, id)).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 2 },
    ]);
    expect(replaceItem(list, { id: 'z', n: 2 }, id)).toEqual(list);
  });
});
