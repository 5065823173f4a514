import type { DirectoryGroup } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { type GroupWorkspace, roleDraft, roleRows } from '../src/lib/group-roles.js';
import { GroupRolesEditor, GroupsEmpty, GroupTable, MemberTable, RolesTable } from '../src/pages/organisation-groups.js';
import { ScimGuide } from '../src/pages/scim-guide.js';

const WORKSPACES: GroupWorkspace[] = [
  { slug: 'default', name: 'Default', archivedAt: null },
  { slug: 'vision', name: 'Vision team', archivedAt: '2026-02-01T00:00:00.000Z' },
];

function group(over: Partial<DirectoryGroup>): DirectoryGroup {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    displayName: 'Data platform',
    externalId: 'okta-00g1',
    members: 3,
    roles: [{ workspace: 'vision', role: 'developer' }],
    createdAt: '2026-03-01T12:00:00.000Z',
    updatedAt: '2026-03-02T12:00:00.000Z',
    ...over,
  };
}

function editor(admin: boolean): string {
  return renderToStaticMarkup(
    <GroupRolesEditor organisation="acme" group={group({})} workspaces={WORKSPACES} admin={admin} onSaved={() => {}} />,
  );
}

describe("the organisation's groups", () => {
  it('lists each group with its member count and the roles it grants, and marks the one opened', () => {
    const html = renderToStaticMarkup(
      <GroupTable
        items={[
          group({}),
          group({ id: '00000000-0000-4000-8000-000000000002', displayName: 'Ops', externalId: null, members: 0, roles: [] }),
        ]}
        open="00000000-0000-4000-8000-000000000001"
        onOpen={() => {}}
      />,
    );
    expect(html.match(/data-testid="organisation-group-row"/g)).toHaveLength(2);
    expect(html).toContain('data-testid="organisation-group-members" data-value="3"');
    expect(html).toContain('vision (developer)');
    expect(html).toContain('directory id okta-00g1');
    expect(html).toContain('>none<');
    // The opened row says so to a screen reader, and its button closes it.
    expect(html).toMatch(/class="row-selected"[^>]*data-group-name="Data platform"/);
    expect(html).toMatch(/aria-expanded="true" aria-controls="organisation-group-detail"[^>]*>Close/);
    expect(html).toMatch(/aria-expanded="false"[^>]*>Members and roles<span class="visually-hidden"> of Ops<\/span>/);
  });

  it('says, without groups, that they come from the directory, which token to make and where the provider connects', () => {
    const html = renderToStaticMarkup(<GroupsEmpty organisation="acme" origin="https://outpost.example.com" admin={true} />);
    expect(html).toContain('Groups come from your company&#x27;s directory');
    expect(html).toContain('make a token under Tokens on this page');
    expect(html).toContain('<code>scim</code> scope');
    expect(html).toContain('https://outpost.example.com/api/v1/organisations/acme/scim/v2');
    expect(html).toContain('How to set up SCIM provisioning (docs/organisations.md, “Directory provisioning (SCIM)”)');
    // An auditor cannot make tokens: the sentence names who can.
    const auditor = renderToStaticMarkup(<GroupsEmpty organisation="acme" origin="https://outpost.example.com" admin={false} />);
    expect(auditor).toContain('an owner or admin makes a token under Tokens');
  });

  it("opens the guide's own section on connecting a directory, as docs/organisations.md has it", () => {
    const html = renderToStaticMarkup(<ScimGuide />);
    expect(html).toContain('data-testid="organisation-groups-guide-text"');
    expect(html).toContain('<strong>Connecting a directory.</strong>');
    expect(html).toContain('/api/v1/organisations/&lt;org&gt;/scim/v2');
    // The section ends where the next one starts.
    expect(html).not.toContain('In the dashboard');
  });

  it('gives owners and admins a labelled select per workspace, from none to admin, and a save that waits for a change', () => {
    const html = editor(true);
    expect(html.match(/data-testid="organisation-group-role-select"/g)).toHaveLength(2);
    expect(html).toContain(
      '<label class="visually-hidden" for="organisation-group-role-default">Role of Data platform in default</label>',
    );
    expect(html).toMatch(
      /<select id="organisation-group-role-default"[^>]*><option value="" selected="">none<\/option><option value="viewer">viewer<\/option><option value="runner">runner<\/option><option value="developer">developer<\/option><option value="admin">admin<\/option><\/select>/,
    );
    expect(html).toMatch(/id="organisation-group-role-vision"[^>]*>.*<option value="developer" selected="">developer<\/option>/);
    expect(html).toContain('data-workspace="vision" data-role="developer"');
    expect(html).toContain('vision · archived');
    expect(html).toMatch(/<button type="submit"[^>]*disabled=""[^>]*data-testid="organisation-group-roles-save">Save roles</);
    expect(html).toContain('role="status" aria-live="polite" data-testid="organisation-group-roles-status"');
  });

  it('shows auditors the roles as text, with no select or button', () => {
    const html = editor(false);
    expect(html).not.toContain('<select');
    expect(html).not.toContain('<button');
    expect(html).not.toContain('<form');
    expect(html).toContain('data-read-only="true"');
    expect(html).toMatch(/data-workspace="default" data-role="".*<span class="muted">none<\/span>/s);
    expect(html).toContain('<span data-testid="organisation-group-role">developer</span>');
  });

  it("shows a refused role's error in its workspace's row, tied to its select", () => {
    const g = group({});
    const rows = roleRows(WORKSPACES, g.roles);
    const html = renderToStaticMarkup(
      <RolesTable
        group={g}
        rows={rows}
        draft={roleDraft(rows, g.roles)}
        errors={{ vision: ['no workspace of this organisation is named "vision"'] }}
        admin={true}
        busy={false}
        onChoose={() => {}}
      />,
    );
    expect(html.match(/data-testid="organisation-group-role-error"/g)).toHaveLength(1);
    expect(html).toMatch(
      /data-workspace="vision" data-role="developer" class="row-invalid".*aria-invalid="true" aria-describedby="organisation-group-role-vision-error".*<span class="field-error" id="organisation-group-role-vision-error" role="alert"/s,
    );
    expect(html).toContain('data-workspace="default" data-role="">');
  });

  it('lists the members by email, marking those the directory does not keep active', () => {
    const html = renderToStaticMarkup(
      <MemberTable
        items={[
          { userId: '00000000-0000-4000-8000-00000000000a', email: 'ada@acme.example', name: 'Ada', active: true },
          { userId: '00000000-0000-4000-8000-00000000000b', email: 'bo@acme.example', name: null, active: false },
        ]}
      />,
    );
    expect(html).toContain('data-email="ada@acme.example" data-active="true"');
    expect(html).toContain('data-email="bo@acme.example" data-active="false"');
    expect(html).toContain('>inactive<');
    expect(html).toContain('>Ada<');
  });
});
