import { TestDnsServer, TestOidcProvider } from '@outpost/api/testing';
import {
  CSRF_COOKIE,
  CSRF_HEADER,
  OrganisationMemberListResponse,
  OrganisationSso,
  WhoAmIResponse,
} from '@outpost/sdk/contracts';
import type { APIResponse, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { axeViolations, screenshot } from '../support/dashboard.js';
import { useOrganisationDashboard } from '../support/organisation-dashboard.js';

/** The organisation's owner, who signs in with a password: organisation pages take a person's session. */
const OLIVE = 'olive@platform.example.org';
/** An admin of the organisation: she reads its single sign-on, and only owners change it. */
const ADA = 'ada@platform.example.org';
/** The group the provider lists for the newcomer, and the workspace of the organisation it grants a role in. */
const GROUP = 'ml-platform';
const ML_TEAM = 'ml-team';
const NEWCOMER = 'newcomer@example.com';

let idp: TestOidcProvider;
/** The name server the API asks for the TXT record that proves the organisation holds example.com. */
let dns: TestDnsServer;
let organisation: string;
let oliveContext: BrowserContext;
let olive: Page;

/** The API as the person signed in to `context` reaches it: the session's cookie, and its CSRF token on a change. */
async function asPerson(context: BrowserContext, method: string, path: string, data?: unknown): Promise<APIResponse> {
  const csrf = (await context.cookies(dash.server.url)).find((c) => c.name === CSRF_COOKIE)?.value ?? '';
  return context.request.fetch(`${dash.server.url}/api/v1${path}`, {
    method,
    headers: { [CSRF_HEADER]: csrf },
    ...(data === undefined ? {} : { data }),
  });
}

/** Who the page's session is, as the dashboard itself asks. */
async function whoami(page: Page): Promise<WhoAmIResponse> {
  return WhoAmIResponse.parse(await page.evaluate(() => fetch('/api/v1/whoami').then((r) => r.json())));
}

beforeAll(async () => {
  idp = await new TestOidcProvider().start();
  dns = await new TestDnsServer().start();
});
afterAll(async () => {
  await idp?.close();
  await dns?.close();
});

const dash = useOrganisationDashboard({
  server: () => ({ secretKey: 'a server key of at least thirty-two characters', dnsServers: [dns.address] }),
  seed,
});

async function seed(): Promise<void> {
  // The first owner of the default workspace owns its organisation; Ada runs flows in it.
  await dash.person(OLIVE, 'owner');
  await dash.person(ADA, 'runner');
  organisation = dash.organisation.slug;

  // Olive signs in with her password, and makes the organisation's second workspace through the API.
  ({ context: oliveContext, page: olive } = await dash.freshPage());
  await dash.signIn(olive, OLIVE);
  const created = await asPerson(oliveContext, 'POST', `/organisations/${organisation}/workspaces`, {
    slug: ML_TEAM,
    name: 'ML team',
  });
  expect(created.status()).toBe(201);
  // Olive makes Ada an admin of the organisation.
  const people = OrganisationMemberListResponse.parse(
    await (await asPerson(oliveContext, 'GET', `/organisations/${organisation}/members`)).json(),
  ).items;
  const ada = people.find((p) => p.email === ADA);
  if (!ada) throw new Error('Ada is not one of the organisation');
  const promoted = await asPerson(oliveContext, 'PATCH', `/organisations/${organisation}/members/${ada.userId}`, {
    role: 'admin',
  });
  expect(promoted.status()).toBe(200);
}
afterEach(() => {
  expect(dash.policy.violations).toEqual([]);
});

describe("the organisation's single sign-on in the dashboard", () => {
  it("lets the organisation's owner connect its provider, prove its domain and map a group to a role, which signs a newcomer of that group in from the sign-in page as a developer of the workspace it names", async () => {
    await olive.getByTestId('nav-organisation').click();
    await olive.getByTestId('organisation-role').getByText('organisation owner').waitFor();
    const section = olive.getByTestId('org-sso');
    await section.getByTestId('org-sso-off').waitFor();
    await section.getByTestId('org-sso-set-up').click();
    // The redirect URI is shown before anything is saved: providers ask for it before they issue a client.
    expect(await section.getByTestId('org-sso-form-redirect-uri').textContent()).toBe(
      `${dash.server.url}/api/v1/auth/oidc/callback`,
    );

    await section.getByTestId('org-sso-issuer').fill(idp.issuer);
    await section.getByTestId('org-sso-client-id').fill(idp.clientId);
    await section.getByTestId('org-sso-domains').fill('Example.com, @example.com');
    // A confidential client needs its secret: the form says so under the field before calling the API.
    await section.getByTestId('org-sso-save').click();
    expect(await section.getByTestId('org-sso-client-secret-error').textContent()).toContain('enter it');
    expect(await section.getByTestId('org-sso-client-secret').getAttribute('aria-invalid')).toBe('true');
    await section.getByTestId('org-sso-client-secret').fill(idp.clientSecret);
    expect(await section.getByTestId('org-sso-groups-claim').inputValue()).toBe('groups');
    await section.getByTestId('org-sso-save').click();

    await section.getByTestId('org-sso-summary').waitFor();
    expect(await section.getByTestId('org-sso-issuer-value').textContent()).toBe(idp.issuer);
    expect(await section.getByTestId('org-sso-secret-value').textContent()).toBe('confidential (secret stored encrypted)');
    expect(await section.getByTestId('org-sso-status').textContent()).toBe(
      'Saved. Publish the TXT record of example.com and verify it: until then nobody at that domain signs in. Map the groups of the ID token to workspace roles below.',
    );
    expect(await section.getByTestId('org-sso-claim-value').textContent()).toBe('groups');
    expect(await section.getByTestId('org-sso-redirect-uri').textContent()).toBe(`${dash.server.url}/api/v1/auth/oidc/callback`);
    const link = `${dash.server.url}/api/v1/auth/oidc/organisations/${organisation}/start`;
    expect(await section.getByTestId('org-sso-sign-in-link').textContent()).toBe(link);

    // The domain signs nobody in until its TXT record proves the organisation holds it: the page says
    // which record; verifying before it is served is refused, in words that name it.
    const domain = section.locator('[data-testid="org-sso-domain"][data-domain="example.com"]');
    expect(await domain.getAttribute('data-verified')).toBe('false');
    const recordName = (await domain.getByTestId('org-sso-domain-record-name').textContent()) ?? '';
    const recordValue = (await domain.getByTestId('org-sso-domain-record-value').textContent()) ?? '';
    expect(recordName).toBe('_outpost-challenge.example.com');
    expect(recordValue).toMatch(/^outpost-domain-verification=/);
    await domain.getByTestId('org-sso-domain-verify').click();
    expect(await domain.getByTestId('org-sso-domain-error').textContent()).toContain(recordName);
    await section.scrollIntoViewIfNeeded();
    await screenshot(olive, 'organisation-sso-domain-unverified');
    dns.records.set(recordName, [recordValue]);
    await domain.getByTestId('org-sso-domain-verify').click();
    await section.locator('[data-testid="org-sso-domain"][data-domain="example.com"][data-verified="true"]').waitFor();
    expect(await domain.getByTestId('org-sso-domain-record-name').count()).toBe(0);

    // The mapping: a row left without a group is caught in its row before anything is sent, and removed.
    const mapping = section.getByTestId('org-sso-mapping');
    const rows = mapping.getByTestId('org-sso-mapping-row');
    expect(await rows.count()).toBe(0);
    await mapping.getByTestId('org-sso-mapping-add').click();
    await mapping.getByTestId('org-sso-mapping-add').click();
    expect(await rows.count()).toBe(2);
    const first = rows.nth(0);
    await first.getByTestId('org-sso-mapping-group').fill(GROUP);
    await first.getByTestId('org-sso-mapping-workspace').selectOption(ML_TEAM);
    await first.getByTestId('org-sso-mapping-role').selectOption('developer');
    await mapping.getByTestId('org-sso-mapping-save').click();
    expect(await rows.nth(1).getByTestId('org-sso-mapping-error').allTextContents()).toEqual([
      'enter the value the groups claim lists, e.g. ml-platform',
      'choose a workspace',
    ]);
    expect(await first.getByTestId('org-sso-mapping-error').count()).toBe(0);
    await rows.nth(1).getByTestId('org-sso-mapping-remove').click();
    expect(await rows.count()).toBe(1);

    // The save sends the whole request: the provider as it is, its secret left out (kept), the time
    // the page read it (a stale page is refused, not obeyed), and the mapping.
    const put = olive.waitForResponse(
      (r) => r.request().method() === 'PUT' && r.url().endsWith(`/organisations/${organisation}/sso`),
    );
    await mapping.getByTestId('org-sso-mapping-save').click();
    const answer = await put;
    expect(answer.status()).toBe(200);
    expect(answer.request().postDataJSON()).toEqual({
      issuer: idp.issuer,
      clientId: idp.clientId,
      allowedDomains: ['example.com'],
      groupsClaim: 'groups',
      expectedUpdatedAt: expect.any(String),
      groupRoles: [{ group: GROUP, workspace: ML_TEAM, role: 'developer' }],
    });
    expect(Date.parse(answer.request().postDataJSON().expectedUpdatedAt)).toBeLessThan(
      Date.parse((await answer.json()).updatedAt),
    );
    await mapping
      .getByTestId('org-sso-mapping-status')
      .getByText(`Saved: ${GROUP} grants developer in ${ML_TEAM}.`, { exact: false })
      .waitFor();
    expect(await mapping.getByTestId('org-sso-mapping-save').isDisabled()).toBe(true);
    await section.scrollIntoViewIfNeeded();
    await screenshot(olive, 'organisation-sso');

    // The API holds what the page showed.
    const read = await asPerson(oliveContext, 'GET', `/organisations/${organisation}/sso`);
    expect(read.status()).toBe(200);
    expect(OrganisationSso.parse(await read.json())).toMatchObject({
      issuer: idp.issuer,
      clientId: idp.clientId,
      hasClientSecret: true,
      allowedDomains: ['example.com'],
      domains: [expect.objectContaining({ domain: 'example.com', verified: true })],
      groupsClaim: 'groups',
      groupRoles: [{ group: GROUP, workspace: ML_TEAM, role: 'developer' }],
      redirectUri: `${dash.server.url}/api/v1/auth/oidc/callback`,
      signInPath: `/api/v1/auth/oidc/organisations/${organisation}/start`,
    });

    // A newcomer the provider lists in the group: signed out, the runs page sends them to sign in.
    idp.person = { sub: 'sso-newcomer', email: NEWCOMER, emailVerified: true, name: 'Nico', groups: [GROUP] };
    const { context, page } = await dash.freshPage();
    try {
      await page.goto(`${dash.server.url}/#/runs`);
      await page.getByTestId('sign-in-org-sso-form').waitFor();
      expect(new URL(page.url()).hash).toBe('#/sign-in?next=%2Fruns');
      await page.getByTestId('sign-in-org-sso-organisation').fill(organisation);
      await screenshot(page, 'sign-in-organisation-sso');
      await page.getByTestId('sign-in-org-sso-submit').click();

      await page.getByTestId('user-email').getByText(NEWCOMER).waitFor();
      expect(new URL(page.url()).hash).toBe('#/runs');
      expect(await page.getByTestId('workspace-name').textContent()).toContain('ML team');
      expect(await page.locator('.role').textContent()).toBe('developer');
      const me = await whoami(page);
      expect(me.workspace.slug).toBe(ML_TEAM);
      expect(me.principal).toMatchObject({ kind: 'session', role: 'developer' });
      expect(me.user?.email).toBe(NEWCOMER);
    } finally {
      await context.close();
    }

    // The organisation now has the newcomer, with the role the group grants and nothing else.
    const people = OrganisationMemberListResponse.parse(
      await (await asPerson(oliveContext, 'GET', `/organisations/${organisation}/members`)).json(),
    ).items;
    expect(people.find((p) => p.email === NEWCOMER)).toMatchObject({
      role: 'member',
      workspaces: [{ slug: ML_TEAM, role: 'developer' }],
    });
  });

  it("shows the organisation's admin its single sign-on and mapping without the means to change them, as the API takes no change from her", async () => {
    const { context, page } = await dash.freshPage();
    try {
      await dash.signIn(page, ADA, 'default');
      await page.getByTestId('nav-organisation').click();
      await page.getByTestId('organisation-role').getByText('organisation admin').waitFor();
      const section = page.getByTestId('org-sso');
      await section.getByTestId('org-sso-summary').waitFor();
      expect(await section.getByTestId('org-sso-issuer-value').textContent()).toBe(idp.issuer);
      await section.getByText("Only the organisation's owners change its single sign-on.").waitFor();
      expect(await section.getByTestId('org-sso-mapping').getAttribute('data-read-only')).toBe('true');
      expect(
        await section
          .getByTestId('org-sso-mapping-row')
          .evaluateAll((trs) => trs.map((tr) => [tr.dataset.group, tr.dataset.workspace, tr.dataset.role])),
      ).toEqual([[GROUP, ML_TEAM, 'developer']]);
      // Nothing in the section changes anything.
      expect(await section.getByRole('button').count()).toBe(0);
      expect(await section.locator('input, select').count()).toBe(0);

      const refused = await asPerson(context, 'DELETE', `/organisations/${organisation}/sso`);
      expect(refused.status()).toBe(403);
      expect((await asPerson(oliveContext, 'GET', `/organisations/${organisation}/sso`)).status()).toBe(200);
    } finally {
      await context.close();
    }
  });

  it('shows the section, with its mapping editor, without WCAG 2 A or AA violations', async () => {
    const { context, page } = await dash.freshPage({ bypassCSP: true });
    try {
      // Olive can open both workspaces of the organisation now: sign-in asks which one.
      await dash.signIn(page, OLIVE, 'default');
      await page.getByTestId('nav-organisation').click();
      await page.getByTestId('org-sso').getByTestId('org-sso-mapping-row').first().waitFor();
      expect(await axeViolations(page)).toEqual([]);
    } finally {
      await context.close();
    }
  });

  it('sends a person whose groups grant no workspace back to the sign-in page with the reason, and makes no account', async () => {
    idp.person = { sub: 'sso-stranger', email: 'stranger@example.com', emailVerified: true, groups: ['finance'] };
    const { context, page } = await dash.freshPage();
    try {
      await page.goto(`${dash.server.url}/#/sign-in?organisation=${organisation}`);
      expect(await page.getByTestId('sign-in-org-sso-organisation').inputValue()).toBe(organisation);
      await page.getByTestId('sign-in-org-sso-submit').click();
      await page.getByTestId('sign-in-error').waitFor();
      expect(await page.getByTestId('sign-in-error').textContent()).toContain(
        "The organisation's single sign-on did not let you in: none of your groups grants you one of its workspaces",
      );
      // The reason leaves the address bar, so a reload does not show it again.
      await page.waitForURL((url) => !url.hash.includes('error='));
      expect(await context.cookies()).not.toContainEqual(expect.objectContaining({ name: 'outpost_session' }));
      await screenshot(page, 'sign-in-organisation-sso-refused');
    } finally {
      await context.close();
    }
    expect(await dash.server.sql`SELECT 1 FROM users WHERE email = 'stranger@example.com'`).toHaveLength(0);
  });

  it('tells a person who names an organisation without single sign-on so, on the sign-in page', async () => {
    const { context, page } = await dash.freshPage();
    try {
      await page.goto(`${dash.server.url}/#/sign-in`);
      await page.getByTestId('sign-in-org-sso-organisation').fill('no-such-organisation');
      await page.getByTestId('sign-in-org-sso-submit').click();
      await page.getByTestId('sign-in-error').getByText('No organisation by that name signs in with single sign-on.').waitFor();
    } finally {
      await context.close();
    }
  });

  it('lets the owner turn it off, saying first that the roles its groups granted and its sessions end, which they then do', async () => {
    idp.person = { sub: 'sso-newcomer', email: NEWCOMER, emailVerified: true, groups: [GROUP] };
    const { context, page } = await dash.freshPage();
    try {
      await page.goto(`${dash.server.url}/#/sign-in`);
      await page.getByTestId('sign-in-org-sso-organisation').fill(organisation);
      await page.getByTestId('sign-in-org-sso-submit').click();
      await page.getByTestId('user-email').getByText(NEWCOMER).waitFor();

      const section = olive.getByTestId('org-sso');
      await section.getByTestId('org-sso-turn-off').click();
      expect(await section.getByTestId('org-sso-turn-off-effect').textContent()).toContain(
        'Turning it off ends the roles its groups claim granted and the sessions it opened.',
      );
      await section.getByTestId('org-sso-turn-off-confirm').click();
      await section.getByTestId('org-sso-off').waitFor();
      expect(await section.getByTestId('org-sso-status').textContent()).toBe(
        'Single sign-on is off: the roles its groups claim granted have ended, and so have the sessions it opened.',
      );
      const off = await asPerson(oliveContext, 'GET', `/organisations/${organisation}/sso`);
      expect(off.status()).toBe(200);
      expect(await off.json()).toBeNull();

      // The newcomer's session went with it.
      expect(await page.evaluate(() => fetch('/api/v1/whoami').then((r) => r.status))).toBe(401);
    } finally {
      await context.close();
    }
  });
});
