import { unwrap } from '@outpost/sdk/client';
import type { AuditEntry, WhoAmIResponse } from '@outpost/sdk/contracts';
import type { BrowserContext, Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signInWithKey, useDashboard } from '../support/dashboard.js';

const EMAIL = 'grace@example.com';
const PASSWORD = 'correct horse battery staple';

const dashboard = useDashboard();
let ownerContext: BrowserContext;
let ownerPage: Page;
let setupToken = '';
const policy = new PolicyWatch();

async function memberByEmail(email: string) {
  return unwrap(await dashboard.owner.call('membersList', {})).items.find((m) => m.email === email);
}

beforeAll(async () => {
  ownerContext = await dashboard.browser.newContext({ viewport: { width: 1360, height: 900 } });
  ownerPage = await ownerContext.newPage();
  policy.watch(ownerPage);
});

describe('people and the audit log in the dashboard', () => {
  it('lets an owner who signed in with an API key add a member and shows the setup token once', async () => {
    await signInWithKey(ownerPage, dashboard.server.url, dashboard.server.ownerKey);
    await ownerPage.getByTestId('nav-settings').click();
    // a new workspace has an owner key but no people yet
    await ownerPage.getByTestId('member-add-email').waitFor();

    await ownerPage.getByTestId('member-add-email').fill(EMAIL);
    await ownerPage.getByTestId('member-add-role').selectOption('developer');
    await ownerPage.getByTestId('member-add').click();
    const token = ownerPage.getByTestId('member-setup-token');
    await token.waitFor();
    setupToken = (await token.textContent()) ?? '';
    expect(setupToken.length).toBeGreaterThan(20);
    expect(await ownerPage.getByTestId('member-setup-link').inputValue()).toContain(`#/set-password?token=${setupToken}`);
    await ownerPage.locator(`[data-testid="member-row"][data-email="${EMAIL}"]`).waitFor();
    expect((await memberByEmail(EMAIL))?.role).toBe('developer');
    await screenshot(ownerPage, 'settings-member-added');

    await ownerPage.getByTestId('member-setup-done').click();
    expect(await ownerPage.getByTestId('member-setup-token').count()).toBe(0);
  });

  it('lets the new member set a password through the setup link, sign in with it and see their role', async () => {
    const context = await dashboard.browser.newContext({ viewport: { width: 1360, height: 860 } });
    try {
      const page = await context.newPage();
      policy.watch(page);
      await page.goto(`${dashboard.server.url}/#/set-password?token=${encodeURIComponent(setupToken)}`);
      await page.getByTestId('set-password').waitFor();
      // the token leaves the address bar at once
      await page.waitForURL((url) => !url.hash.includes('token='));
      await page.getByTestId('set-password-password').fill(PASSWORD);
      await page.getByTestId('set-password-repeat').fill(PASSWORD);
      await screenshot(page, 'set-password');
      await page.getByTestId('set-password-submit').click();
      await page.getByTestId('set-password-done').waitFor();
      expect((await memberByEmail(EMAIL))?.hasPassword).toBe(true);

      // the setup link works once
      await page.goto(`${dashboard.server.url}/#/set-password?token=${encodeURIComponent(setupToken)}`);
      await page.getByTestId('set-password-password').fill('another password');
      await page.getByTestId('set-password-repeat').fill('another password');
      await page.getByTestId('set-password-submit').click();
      await page.getByTestId('set-password-error').waitFor();
      expect(await page.getByTestId('set-password-error').textContent()).toContain('expired or was already used');

      await page.goto(`${dashboard.server.url}/#/sign-in`);
      await page.getByTestId('sign-in-email').fill(EMAIL);
      await page.getByTestId('sign-in-password').fill('not the password');
      await page.getByTestId('sign-in-password-submit').click();
      await page.getByTestId('sign-in-error').waitFor();
      expect(await page.getByTestId('sign-in-error').textContent()).toContain('not accepted');

      await page.getByTestId('sign-in-password').fill(PASSWORD);
      await page.getByTestId('sign-in-password-submit').click();
      await page.getByTestId('workspace-name').getByText('Default').waitFor();
      // a session of a person, not of an API key
      const me = JSON.parse(await page.evaluate(async () => (await fetch('/api/v1/whoami')).text())) as WhoAmIResponse;
      expect(me.principal).toMatchObject({ kind: 'session', role: 'developer' });
      expect(await page.locator('.role').textContent()).toBe('developer');
      expect(await page.getByTestId('user-email').textContent()).toBe(EMAIL);

      // a developer has no people or audit log to manage
      await page.getByTestId('nav-settings').click();
      await page.getByRole('heading', { name: 'API keys' }).waitFor();
      expect(await page.getByTestId('member-add-email').count()).toBe(0);
      expect(await page.getByTestId('audit-export').count()).toBe(0);
      await screenshot(page, 'settings-developer');
    } finally {
      await context.close();
    }
  });

  it("shows the owner the member's addition in the audit log, filters by action and exports NDJSON", async () => {
    await ownerPage.reload();
    const added = ownerPage.locator('[data-testid="audit-row"][data-action="membersAdd"]');
    await added.first().waitFor();
    expect(await added.first().getAttribute('data-outcome')).toBe('success');
    const member = await memberByEmail(EMAIL);
    expect(await added.first().textContent()).toContain(member?.userId ?? 'missing member');
    await screenshot(ownerPage, 'settings-audit-log');

    // Filtering by action keeps only those entries.
    await ownerPage.getByTestId('audit-filter-action').fill('membersAdd');
    await ownerPage.getByTestId('audit-filter-apply').click();
    await expect
      .poll(() => ownerPage.locator('[data-testid="audit-row"]:not([data-action="membersAdd"])').count(), { timeout: 10_000 })
      .toBe(0);

    const href = await ownerPage.getByTestId('audit-export').getAttribute('href');
    expect(href).toBe('/api/v1/audit-log/export?action=membersAdd');
    const body = await ownerPage.evaluate(async (path) => {
      const res = await fetch(path, { credentials: 'same-origin' });
      return `${res.status}\n${await res.text()}`;
    }, href ?? '');
    const [status, ...lines] = body.split('\n').filter(Boolean);
    expect(status).toBe('200');
    const entries = lines.map((line) => JSON.parse(line) as AuditEntry);
    expect(entries.length).toBeGreaterThan(0);
    expect(entries.every((e) => e.action === 'membersAdd')).toBe(true);
  });

  it('loads older entries with the keyset cursor', async () => {
    // enough audited changes for more than one page of 50
    for (let i = 0; i < 55; i++)
      unwrap(await dashboard.owner.call('apiKeysCreate', { body: { name: `audit-${i}`, role: 'viewer' } }));
    await ownerPage.reload();
    await expect.poll(() => ownerPage.getByTestId('audit-row').count(), { timeout: 10_000 }).toBe(50);
    await ownerPage.getByTestId('audit-more').click();
    await expect.poll(() => ownerPage.getByTestId('audit-row').count(), { timeout: 10_000 }).toBeGreaterThan(50);
    const ids = await ownerPage.getByTestId('audit-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-entry-id')));
    // every entry once, newest first across the page boundary, and no further page left
    expect(new Set(ids).size).toBe(ids.length);
    const numbers = ids.map((id) => BigInt(id ?? '0'));
    expect(numbers.every((n, i) => i === 0 || n < (numbers[i - 1] ?? 0n))).toBe(true);
    expect(await ownerPage.getByTestId('audit-more').count()).toBe(0);
  });

  it("changes a member's role and removes them after a confirmation", async () => {
    const row = ownerPage.locator(`[data-testid="member-row"][data-email="${EMAIL}"]`);
    await row.getByTestId('member-role').selectOption('viewer');
    await expect.poll(async () => (await memberByEmail(EMAIL))?.role, { timeout: 10_000 }).toBe('viewer');
    await row.getByTestId('member-remove').click();
    await row.getByTestId('member-remove-confirm').click();
    await row.waitFor({ state: 'detached' });
    expect(await memberByEmail(EMAIL)).toBeUndefined();
    expect(policy.violations).toEqual([]);
  });

  it('creates an API key shown once, refuses a name the API would not take, and revokes the key only once asked twice', async () => {
    const form = ownerPage.getByTestId('api-key-form');
    await ownerPage.getByTestId('api-key-name').fill('bad name');
    await ownerPage.getByTestId('api-key-create').click();
    expect(await form.locator('.field-error').textContent()).toMatch(/^Name: use letters, digits/);

    await ownerPage.getByTestId('api-key-name').fill('ci-deploy');
    await ownerPage.getByTestId('api-key-role').selectOption('worker');
    await ownerPage.getByTestId('api-key-pools').fill('default, gpu');
    await ownerPage.getByTestId('api-key-create').click();
    const secret = await ownerPage.getByTestId('api-key-secret').inputValue();
    expect(await form.locator('.field-error').count()).toBe(0);
    expect(await ownerPage.getByTestId('api-key-name').inputValue()).toBe('');
    const created = unwrap(await dashboard.owner.call('apiKeysList', {})).items.find((k) => k.name === 'ci-deploy');
    expect(created).toMatchObject({ role: 'worker', pools: ['default', 'gpu'], revokedAt: null });
    expect(secret.startsWith(created?.prefix ?? '?')).toBe(true);
    await ownerPage.getByTestId('api-key-done').click();
    expect(await ownerPage.getByTestId('api-key-secret').count()).toBe(0);

    const row = ownerPage.locator('[data-testid="api-key-row"][data-key-name="ci-deploy"]');
    await row.getByTestId('api-key-revoke').click();
    // the first click only asks; Keep leaves the key as it was
    await row.getByRole('button', { name: 'Keep' }).click();
    expect(await row.getByTestId('api-key-revoke-confirm').count()).toBe(0);
    expect(unwrap(await dashboard.owner.call('apiKeysList', {})).items.find((k) => k.name === 'ci-deploy')?.revokedAt).toBeNull();
    await row.getByTestId('api-key-revoke').click();
    await row.getByTestId('api-key-revoke-confirm').click();
    await row.getByText('Revoked').waitFor();
    expect(
      unwrap(await dashboard.owner.call('apiKeysList', {})).items.find((k) => k.name === 'ci-deploy')?.revokedAt,
    ).not.toBeNull();
    expect(policy.violations).toEqual([]);
  });
});
