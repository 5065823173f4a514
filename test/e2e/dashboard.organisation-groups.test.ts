import {
  CSRF_COOKIE,
  CSRF_HEADER,
  DirectoryGroup,
  OrganisationGroupsResponse,
  OrganisationMemberListResponse,
  ScimGroupListResponse,
} from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { axeViolations, screenshot } from '../support/dashboard.js';
import { useOrganisationDashboard } from '../support/organisation-dashboard.js';

const ALICE = 'alice@groups.example.com';
const BOB = 'bob@groups.example.com';
/** A person the directory keeps active in the group, and one it deactivated. */
const DANA = 'dana@groups.example.com';
const ERIN = 'erin@groups.example.com';
/** The dashboard reads groups and members this many at a time. */
const PAGE = 50;
/** Enough other members of Dana and Erin's group that its members take two pages; the last by email is alone on the second. */
const FILLERS = Array.from({ length: PAGE - 1 }, (_, i) => `member-${String(i).padStart(2, '0')}@groups.example.com`);
const LAST_MEMBER = FILLERS.at(-1);

let organisation: string;
let dataPlatform: string;
let analysts: string;

/**
 * A browser signed in as `email` to the default workspace, on the organisation's page. The
 * organisation's admins and auditors can open both its workspaces, so sign-in asks which one.
 * `bypassCSP` lets axe-core's inline script in, for the accessibility check.
 */
function signedIn(email: string, { bypassCSP = false } = {}): Promise<{ context: BrowserContext; page: Page }> {
  return dash.signedInToOrganisation(email, { workspace: 'default', bypassCSP });
}

/** What the API answers the signed-in person, with the session's cookie as the page sends it. */
async function getJson(context: BrowserContext, path: string): Promise<unknown> {
  const res = await context.request.get(`${dash.server.url}/api/v1/organisations/${organisation}${path}`);
  expect(res.status()).toBe(200);
  return res.json();
}

/** A group's row in the list, and the button that opens it. */
function groupRow(page: Page, name: string) {
  const row = page.locator(`[data-testid="organisation-group-row"][data-group-name="${name}"]`);
  return { row, open: row.getByTestId('organisation-group-open') };
}

const dash = useOrganisationDashboard({ seed });

async function seed(): Promise<void> {
  const { server } = dash;
  // Alice administers the organisation and Bob audits it; both run flows in its default workspace.
  await dash.person(ALICE, 'runner');
  await dash.person(BOB, 'runner');
  const org = dash.organisation;
  organisation = org.slug;
  await server.sql`
    UPDATE organisation_members SET role = CASE u.email WHEN ${ALICE} THEN 'admin' ELSE 'auditor' END
    FROM users u
    WHERE organisation_members.organisation_id = ${org.id} AND organisation_members.user_id = u.id
      AND u.email IN (${ALICE}, ${BOB})`;
  await server.sql`INSERT INTO workspaces (organisation_id, slug, name) VALUES (${org.id}, 'vision', 'Vision team')`;

  // What the identity provider would have provisioned over SCIM: people of the organisation known to
  // its directory (Erin deactivated), a group of more people than a page holds, a group that already
  // grants a role and no members, and enough other groups to need a second page.
  const emails = [DANA, ERIN, ...FILLERS];
  const users = await server.sql<{ id: string; email: string }[]>`
    INSERT INTO users (email, name, email_verified_at)
    SELECT e, initcap(split_part(e, '@', 1)), now() FROM unnest(${server.sql.array(emails)}::text[]) AS e
    RETURNING id, email`;
  await server.sql`
    INSERT INTO organisation_members (organisation_id, user_id, role)
    SELECT ${org.id}, id, 'member' FROM unnest(${server.sql.array(users.map((u) => u.id))}::uuid[]) AS id`;
  await server.sql`
    INSERT INTO directory_users (organisation_id, user_id, user_name, external_id, active)
    SELECT ${org.id}, u.id, u.email, 'okta-' || u.email, u.email <> ${ERIN}
    FROM users u WHERE u.email = ANY(${server.sql.array(emails)}::text[])`;
  const [group] = await server.sql<{ id: string }[]>`
    INSERT INTO directory_groups (organisation_id, display_name, external_id)
    VALUES (${org.id}, 'Data platform', 'okta-00g1') RETURNING id`;
  if (!group) throw new Error('the group was not made');
  dataPlatform = group.id;
  await server.sql`
    INSERT INTO directory_group_members (group_id, user_id)
    SELECT ${dataPlatform}, id FROM unnest(${server.sql.array(users.map((u) => u.id))}::uuid[]) AS id`;
  const [other] = await server.sql<{ id: string }[]>`
    INSERT INTO directory_groups (organisation_id, display_name) VALUES (${org.id}, 'Analysts') RETURNING id`;
  if (!other) throw new Error('the group was not made');
  analysts = other.id;
  await server.sql`INSERT INTO directory_group_roles (group_id, workspace_id, role) VALUES (${analysts}, ${server.workspaceId}, 'viewer')`;
  await server.sql`
    INSERT INTO directory_groups (organisation_id, display_name)
    SELECT ${org.id}, 'Team ' || lpad(n::text, 3, '0') FROM generate_series(1, ${PAGE}) AS n`;
}

describe("the organisation's directory groups in the dashboard", () => {
  it("lets the organisation's admin read the groups and a group's members page by page, grant the group a role in a workspace, which its active members then hold, and make the token its directory provisions with", async () => {
    const { context, page } = await signedIn(ALICE);
    await page.getByTestId('organisation-role').getByText('organisation admin').waitFor();
    const section = page.getByTestId('organisation-groups');
    const rows = section.getByTestId('organisation-group-row');

    // A page of groups by name, then the rest on request: every group the API lists, in its order.
    await groupRow(page, 'Data platform').row.waitFor();
    // Read once the page has settled: the organisation's details arrive after its first paint.
    await expect.poll(() => rows.count(), { timeout: 15_000 }).toBe(PAGE);
    await section.getByTestId('organisation-groups-more').click();
    await groupRow(page, `Team ${String(PAGE).padStart(3, '0')}`).row.waitFor();
    expect(await section.getByTestId('organisation-groups-more').count()).toBe(0);
    const listed = OrganisationGroupsResponse.parse(await getJson(context, '/groups?limit=100'));
    expect(listed.nextCursor).toBeNull();
    expect(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-group-name')))).toEqual(
      listed.items.map((g) => g.displayName),
    );
    const data = groupRow(page, 'Data platform');
    expect(await data.row.getByTestId('organisation-group-members').getAttribute('data-value')).toBe(String(PAGE + 1));
    expect(await data.row.getByTestId('organisation-group-roles-summary').textContent()).toBe('none');
    expect(await groupRow(page, 'Analysts').row.getByTestId('organisation-group-roles-summary').textContent()).toBe(
      'default (viewer)',
    );

    // Opening the group: its members by email, a page and then the last one, Erin marked inactive.
    await data.open.click();
    const detail = page.locator(`[data-testid="organisation-group-detail"][data-group-id="${dataPlatform}"]`);
    await detail.getByTestId('organisation-group-name').getByText('Data platform').waitFor();
    const members = detail.getByTestId('organisation-group-member');
    await members.first().waitFor();
    expect(await members.count()).toBe(PAGE);
    await detail.getByTestId('organisation-group-members-more').click();
    await detail.locator(`[data-testid="organisation-group-member"][data-email="${LAST_MEMBER}"]`).waitFor();
    expect(await members.count()).toBe(PAGE + 1);
    expect(await detail.getByTestId('organisation-group-members-more').count()).toBe(0);
    const member = (email: string) => detail.locator(`[data-testid="organisation-group-member"][data-email="${email}"]`);
    expect(await member(ERIN).getAttribute('data-active')).toBe('false');
    expect(await member(ERIN).getByText('inactive').count()).toBe(1);
    expect(await member(DANA).getAttribute('data-active')).toBe('true');

    // One row per workspace of the organisation, none granted yet; saving waits for a change.
    const roleRows = detail.getByTestId('organisation-group-role-row');
    expect(await roleRows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-workspace')))).toEqual([
      'default',
      'vision',
    ]);
    const save = detail.getByTestId('organisation-group-roles-save');
    expect(await save.isDisabled()).toBe(true);
    await page.getByLabel('Role of Data platform in vision', { exact: true }).selectOption('developer');
    expect(await save.isEnabled()).toBe(true);
    const put = page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith(`/groups/${dataPlatform}/roles`));
    await save.click();
    const answer = await put;
    expect(answer.status()).toBe(200);
    expect(answer.request().postDataJSON()).toEqual({ roles: [{ workspace: 'vision', role: 'developer' }] });
    await detail
      .getByTestId('organisation-group-roles-status')
      .getByText(`Saved: Data platform grants developer in vision to its ${PAGE + 1} members.`)
      .waitFor();
    expect(await save.isDisabled()).toBe(true);
    // The list shows what the group grants now, without reading every page again.
    expect(await data.row.getByTestId('organisation-group-roles-summary').textContent()).toBe('vision (developer)');
    await detail.scrollIntoViewIfNeeded();
    await screenshot(page, 'organisation-group-roles-saved');

    // The API agrees: the group grants it, Dana holds it in the vision workspace, and Erin, whom the
    // directory deactivated, holds nothing there.
    expect(DirectoryGroup.parse(await getJson(context, `/groups/${dataPlatform}`)).roles).toEqual([
      { workspace: 'vision', role: 'developer' },
    ]);
    // The organisation holds more people than a default page, so one page of 200 reads them all.
    const everyone = OrganisationMemberListResponse.parse(await getJson(context, '/members?limit=200'));
    expect(everyone.nextCursor).toBeNull();
    const people = everyone.items;
    expect(people.find((p) => p.email === DANA)?.workspaces).toEqual([{ slug: 'vision', role: 'developer' }]);
    expect(people.find((p) => p.email === ERIN)?.workspaces).toEqual([]);

    // A token for the identity provider: made with the scim scope alone, it is shown with the SCIM
    // base URL, and the two together read the directory's groups as the provider would. Only an
    // owner makes a scim token (a token never outranks its maker), and the page offers an admin the
    // scope disabled, so Alice is made one first and the page read again.
    await dash.server.sql`
      UPDATE organisation_members SET role = 'owner'
      FROM users u
      WHERE organisation_members.user_id = u.id AND u.email = ${ALICE}
        AND organisation_members.organisation_id = (SELECT organisation_id FROM workspaces WHERE id = ${dash.server.workspaceId})`;
    await page.reload();
    await page.getByTestId('organisation-role').getByText('organisation owner').waitFor();
    await page.getByTestId('organisation-token-name').fill('okta');
    for (const choice of await page.getByTestId('organisation-token-scope-choice').all()) {
      await choice.setChecked((await choice.getAttribute('data-scope')) === 'scim');
    }
    await page.getByTestId('organisation-token-create').click();
    const token = await page.getByTestId('organisation-token-secret').inputValue();
    const base = await page.getByTestId('organisation-token-scim-url').inputValue();
    expect(base).toBe(`${dash.server.url}/api/v1/organisations/${organisation}/scim/v2`);
    const provider = await fetch(`${base}/Groups?filter=${encodeURIComponent('displayName eq "Data platform"')}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(provider.status).toBe(200);
    const found = ScimGroupListResponse.parse(await provider.json());
    expect(found.Resources.map((g) => [g.id, g.displayName])).toEqual([[dataPlatform, 'Data platform']]);
    await page.getByTestId('organisation-token-scim').scrollIntoViewIfNeeded();
    await screenshot(page, 'organisation-token-scim');
    await context.close();
    expect(dash.policy.violations).toEqual([]);
  });

  it("shows the organisation's auditor a group's roles and members without a way to change them", async () => {
    const { context, page } = await signedIn(BOB, { bypassCSP: true });
    await page.getByTestId('organisation-role').getByText('organisation auditor').waitFor();
    const section = page.getByTestId('organisation-groups');
    const group = groupRow(page, 'Analysts');
    await group.open.click();
    const detail = page.locator(`[data-testid="organisation-group-detail"][data-group-id="${analysts}"]`);
    await detail.getByTestId('organisation-group-role-row').first().waitFor();

    // The roles read as text: what the API says the group grants, none elsewhere.
    expect(
      await detail
        .getByTestId('organisation-group-role-row')
        .evaluateAll((trs) => trs.map((tr) => [tr.getAttribute('data-workspace'), tr.getAttribute('data-role')])),
    ).toEqual([
      ['default', 'viewer'],
      ['vision', ''],
    ]);
    expect(await detail.getByTestId('organisation-group-role').allTextContents()).toEqual(['viewer', 'none']);
    expect(await detail.getByTestId('organisation-group-roles-form').getAttribute('data-read-only')).toBe('true');
    await detail.getByText('The directory has put no one in this group.').waitFor();
    // Nothing in the section changes anything: its only buttons open, close and page.
    expect(await section.locator('select').count()).toBe(0);
    expect(await section.getByTestId('organisation-group-roles-save').count()).toBe(0);
    const labels = await section.getByRole('button').allTextContents();
    expect(labels.every((l) => /^(Members and roles|Close|Load more groups)/.test(l))).toBe(true);
    // The section, a group opened in it, meets WCAG 2 A and AA.
    expect(await axeViolations(page)).toEqual([]);
    await detail.scrollIntoViewIfNeeded();
    await screenshot(page, 'organisation-group-auditor');

    // Nor does the API take a change from him.
    const csrf = (await context.cookies(dash.server.url)).find((c) => c.name === CSRF_COOKIE)?.value;
    expect(csrf).toBeTruthy();
    const refused = await context.request.put(
      `${dash.server.url}/api/v1/organisations/${organisation}/groups/${analysts}/roles`,
      {
        data: { roles: [] },
        headers: { [CSRF_HEADER]: csrf ?? '' },
      },
    );
    expect(refused.status()).toBe(403);
    expect(DirectoryGroup.parse(await getJson(context, `/groups/${analysts}`)).roles).toEqual([
      { workspace: 'default', role: 'viewer' },
    ]);
    await context.close();
    expect(dash.policy.violations).toEqual([]);
  });
});
