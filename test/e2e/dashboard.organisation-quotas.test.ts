import { unwrap } from '@outpost/sdk/client';
import { CSRF_COOKIE, CSRF_HEADER, type OrganisationQuota, OrganisationQuotaListResponse } from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../support/dashboard.js';
import { useOrganisationDashboard } from '../support/organisation-dashboard.js';

const ALICE = 'alice@quotas.example.com';
const BOB = 'bob@quotas.example.com';
/** The operator's limit of the default workspace's automations, set below the default of 500. */
const OPERATOR_AUTOMATIONS = 40;

let organisation: string;

/**
 * A browser signed in as `email` to the default workspace, on the organisation's page. Owners and
 * auditors of the organisation can open both its workspaces, so sign-in asks which one.
 */
function signedIn(email: string): Promise<{ context: BrowserContext; page: Page }> {
  return dash.signedInToOrganisation(email, { workspace: 'default' });
}

/** One quota of a workspace as the API answers the signed-in person, with the session's cookie. */
async function quotaFromApi(context: BrowserContext, workspace: string, name: string): Promise<OrganisationQuota> {
  const res = await context.request.get(`${dash.server.url}/api/v1/organisations/${organisation}/workspaces/${workspace}/quotas`);
  expect(res.status()).toBe(200);
  const quota = OrganisationQuotaListResponse.parse(await res.json()).items.find((q) => q.name === name);
  if (!quota) throw new Error(`the API lists no quota named ${name}`);
  return quota;
}

/** A quota's row in the section, and its cells. */
function quotaRow(page: Page, name: string) {
  const row = page.locator(`[data-testid="organisation-quota-row"][data-quota="${name}"]`);
  return {
    row,
    limit: row.getByTestId('organisation-quota-limit'),
    operatorLimit: row.getByTestId('organisation-quota-operator-limit'),
    organisationLimit: row.getByTestId('organisation-quota-organisation-limit'),
    input: row.getByTestId('organisation-quota-input'),
    save: row.getByTestId('organisation-quota-save'),
    remove: row.getByTestId('organisation-quota-remove'),
    error: row.getByTestId('organisation-quota-error'),
  };
}

/** The answer to the next PUT of quota `name`. */
function nextPut(page: Page, name: string) {
  return page.waitForResponse((r) => r.request().method() === 'PUT' && r.url().endsWith(`/quotas/${name}`));
}

const dash = useOrganisationDashboard({ seed });

async function seed(): Promise<void> {
  const { server } = dash;
  // The first owner of the default workspace owns its organisation; Bob, who runs flows in it, audits it.
  await dash.person(ALICE, 'owner');
  await dash.person(BOB, 'runner');
  const row = dash.organisation;
  organisation = row.slug;
  await server.sql`
    UPDATE organisation_members SET role = 'auditor'
    WHERE organisation_id = ${row.id} AND user_id = (SELECT id FROM users WHERE email = ${BOB})`;
  // A second workspace of the organisation, whose limits the organisation already lowered one of.
  const [vision] = await server.sql<{ id: string }[]>`
    INSERT INTO workspaces (organisation_id, slug, name) VALUES (${row.id}, 'vision', 'Vision team') RETURNING id`;
  if (!vision) throw new Error('the vision workspace was not made');
  await server.sql`INSERT INTO organisation_quota_limits (workspace_id, name, "limit") VALUES (${vision.id}, 'webhooks', 7)`;
  // What `outpost server quota set default automations 40` stores: the operator's own limit.
  await server.sql`
    INSERT INTO workspace_quotas (workspace_id, name, "limit") VALUES (${server.workspaceId}, 'automations', ${OPERATOR_AUTOMATIONS})`;
}

describe("the organisation's quotas in the dashboard", () => {
  it("lets the organisation's owner lower a workspace's automations below the operator's limit, refuses a limit above it without changing anything, and restores the operator's when she removes hers", async () => {
    const { context, page } = await signedIn(ALICE);
    await page.getByTestId('organisation-role').getByText('organisation owner').waitFor();
    await page.getByTestId('organisation-quotas-workspace').selectOption('default');
    await page.locator('[data-testid="organisation-quotas-table"][data-workspace="default"]').waitFor();
    const automations = quotaRow(page, 'automations');
    await automations.row.waitFor();

    // At first the workspace is held to the operator's limit, and the input offers no more.
    expect(await automations.limit.getAttribute('data-value')).toBe(String(OPERATOR_AUTOMATIONS));
    expect(await automations.row.getAttribute('data-held-by')).toBe('operator');
    expect(await automations.operatorLimit.getAttribute('data-value')).toBe(String(OPERATOR_AUTOMATIONS));
    expect(await automations.input.getAttribute('max')).toBe(String(OPERATOR_AUTOMATIONS));
    expect(await automations.input.inputValue()).toBe('');
    expect(await automations.remove.count()).toBe(0);
    expect(await page.getByLabel("Organisation's limit of automations", { exact: true }).getAttribute('data-testid')).toBe(
      'organisation-quota-input',
    );

    // She lowers it to 3: the row shows 3 as the limit held, the organisation's, and says so.
    await automations.input.fill('3');
    const lowered = nextPut(page, 'automations');
    await automations.save.click();
    expect((await lowered).status()).toBe(200);
    await page.locator('[data-testid="organisation-quota-row"][data-quota="automations"][data-held-by="organisation"]').waitFor();
    expect(await automations.limit.getAttribute('data-value')).toBe('3');
    expect(await automations.limit.textContent()).toBe("3 the organisation's");
    expect(await automations.organisationLimit.getAttribute('data-value')).toBe('3');
    expect(await automations.input.inputValue()).toBe('3');
    await page
      .getByTestId('organisation-quotas-status')
      .getByText("Set the organisation's limit of automations to 3: the workspace default is held to 3.")
      .waitFor();
    // The workspace's own members read the same limit, and the other workspace is as it was.
    const held = unwrap(await dash.owner.call('quotasList', {})).items.find((q) => q.name === 'automations');
    expect(held?.limit).toBe(3);
    expect(await quotaFromApi(context, 'default', 'automations')).toMatchObject({
      limit: 3,
      operatorLimit: OPERATOR_AUTOMATIONS,
      organisationLimit: 3,
    });
    expect((await quotaFromApi(context, 'vision', 'automations')).organisationLimit).toBeNull();
    await screenshot(page, 'organisation-quotas-lowered');

    // Above the operator's limit: the refusal names it beside the input, and nothing changes.
    await automations.input.fill(String(OPERATOR_AUTOMATIONS + 1));
    const refused = nextPut(page, 'automations');
    await automations.save.click();
    expect((await refused).status()).toBe(400);
    await automations.error.waitFor();
    expect(await automations.error.textContent()).toBe(
      `must be at most ${OPERATOR_AUTOMATIONS}, the operator's limit for this workspace`,
    );
    expect(await automations.error.getAttribute('role')).toBe('alert');
    expect(await automations.input.getAttribute('aria-invalid')).toBe('true');
    expect(await automations.input.getAttribute('aria-describedby')).toBe(await automations.error.getAttribute('id'));
    expect(await automations.limit.getAttribute('data-value')).toBe('3');
    // The sentence about the last save no longer stands beside a refused one.
    expect(await page.getByTestId('organisation-quotas-status').textContent()).toBe('');
    expect(await quotaFromApi(context, 'default', 'automations')).toMatchObject({ limit: 3, organisationLimit: 3 });
    await screenshot(page, 'organisation-quotas-refused');

    // Removing the organisation's limit restores the operator's, and clears the error.
    const removed = nextPut(page, 'automations');
    await automations.remove.click();
    const removal = await removed;
    expect(removal.status()).toBe(200);
    expect(removal.request().postDataJSON()).toEqual({ limit: null });
    await page.locator('[data-testid="organisation-quota-row"][data-quota="automations"][data-held-by="operator"]').waitFor();
    expect(await automations.limit.getAttribute('data-value')).toBe(String(OPERATOR_AUTOMATIONS));
    expect(await automations.organisationLimit.getAttribute('data-value')).toBe('');
    expect(await automations.input.inputValue()).toBe('');
    expect(await automations.error.count()).toBe(0);
    expect(await automations.remove.count()).toBe(0);
    await page
      .getByTestId('organisation-quotas-status')
      .getByText(
        `Removed the organisation's limit of automations: the workspace default is held to ${OPERATOR_AUTOMATIONS}, the operator's limit.`,
      )
      .waitFor();
    expect(await quotaFromApi(context, 'default', 'automations')).toMatchObject({
      limit: OPERATOR_AUTOMATIONS,
      operatorLimit: OPERATOR_AUTOMATIONS,
      organisationLimit: null,
    });
    await context.close();
    expect(dash.policy.violations).toEqual([]);
  });

  it("shows the organisation's auditor each workspace's quotas without a way to change them", async () => {
    const { context, page } = await signedIn(BOB);
    await page.getByTestId('organisation-role').getByText('organisation auditor').waitFor();
    const section = page.getByTestId('organisation-quotas');
    await page.getByTestId('organisation-quotas-workspace').selectOption('vision');
    await page.locator('[data-testid="organisation-quotas-table"][data-workspace="vision"]').waitFor();

    // Every quota the API lists is a row, the organisation's limit shown as text.
    const res = await context.request.get(`${dash.server.url}/api/v1/organisations/${organisation}/workspaces/vision/quotas`);
    const answer = OrganisationQuotaListResponse.parse(await res.json());
    const rows = await page.$$eval('[data-testid="organisation-quota-row"]', (trs) =>
      trs.map((tr) => tr.getAttribute('data-quota')),
    );
    expect(rows).toEqual(answer.items.map((q) => q.name));
    const webhooks = quotaRow(page, 'webhooks');
    expect(await webhooks.row.getAttribute('data-held-by')).toBe('organisation');
    expect(await webhooks.limit.getAttribute('data-value')).toBe('7');
    expect(await webhooks.organisationLimit.textContent()).toBe('7');
    expect(await quotaRow(page, 'automations').organisationLimit.textContent()).toBe('none');
    expect(await section.locator('input').count()).toBe(0);
    expect(await section.getByRole('button').count()).toBe(0);
    await section.scrollIntoViewIfNeeded();
    await screenshot(page, 'organisation-quotas-auditor');

    // Nor does the API take a change from him.
    const csrf = (await context.cookies(dash.server.url)).find((c) => c.name === CSRF_COOKIE)?.value;
    expect(csrf).toBeTruthy();
    const put = await context.request.put(
      `${dash.server.url}/api/v1/organisations/${organisation}/workspaces/vision/quotas/webhooks`,
      { data: { limit: 1 }, headers: { [CSRF_HEADER]: csrf ?? '' } },
    );
    expect(put.status()).toBe(403);
    expect((await quotaFromApi(context, 'vision', 'webhooks')).organisationLimit).toBe(7);
    await context.close();
    expect(dash.policy.violations).toEqual([]);
  });
});
