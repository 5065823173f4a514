import { TestOidcProvider } from '@outpost/api/testing';
import { unwrap } from '@outpost/sdk/client';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PolicyWatch, screenshot, signInWithKey, useDashboard } from '../support/dashboard.js';

const dashboard = useDashboard({ secretKey: 'a server key of at least thirty-two characters' });
let idp: TestOidcProvider;
let ownerContext: BrowserContext;
let ownerPage: Page;
const policy = new PolicyWatch();
/** What the owner's page logged as errors (a failed request among them): a normal state logs none. */
const ownerConsoleErrors: string[] = [];

/** A browser of its own (no cookies of anyone else), on the dashboard. */
async function freshPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await dashboard.browser.newContext({ viewport: { width: 1280, height: 860 } });
  return { context, page: policy.watch(await context.newPage()) };
}

beforeAll(async () => {
  idp = await new TestOidcProvider().start();
  ownerContext = await dashboard.browser.newContext({ viewport: { width: 1360, height: 900 } });
  ownerPage = policy.watch(await ownerContext.newPage());
  ownerPage.on('console', (message) => {
    if (message.type() === 'error') ownerConsoleErrors.push(`${message.text()} ${message.location().url}`);
  });
});
afterEach(() => {
  expect(policy.violations).toEqual([]);
});
afterAll(async () => {
  await idp?.close();
});

describe('single sign-on in the dashboard', () => {
  it('lets an owner connect an OpenID Connect provider in settings and shows what to register and share', async () => {
    await signInWithKey(ownerPage, dashboard.server.url, dashboard.server.ownerKey);
    await ownerPage.getByTestId('nav-settings').click();
    await ownerPage.getByTestId('sso-off').waitFor();
    // Single sign-on being off is an answer, not a failed request in the console.
    expect(await dashboard.owner.call('oidcConfigGet', {})).toMatchObject({ ok: true, status: 200, data: null });
    expect(ownerConsoleErrors).toEqual([]);
    await ownerPage.getByTestId('sso-set-up').click();
    // The redirect URI is shown before anything is saved: providers ask for it before they issue a client.
    expect(await ownerPage.getByTestId('sso-form-redirect-uri').textContent()).toBe(
      `${dashboard.server.url}/api/v1/auth/oidc/callback`,
    );

    await ownerPage.getByTestId('sso-issuer').fill(idp.issuer);
    await ownerPage.getByTestId('sso-client-id').fill(idp.clientId);
    // A confidential client needs its secret: the form says so before calling the API.
    await ownerPage.getByTestId('sso-save').click();
    expect(await ownerPage.getByTestId('sso-error').textContent()).toContain('Client secret');
    await ownerPage.getByTestId('sso-client-secret').fill(idp.clientSecret);
    await ownerPage.getByTestId('sso-default-role').selectOption('viewer');
    await ownerPage.getByTestId('sso-domains').fill('Example.com, @example.com');
    await screenshot(ownerPage, 'settings-sso-form');
    await ownerPage.getByTestId('sso-save').click();

    await ownerPage.getByTestId('sso-summary').waitFor();
    expect(await ownerPage.getByTestId('sso-issuer-value').textContent()).toBe(idp.issuer);
    expect(await ownerPage.getByTestId('sso-redirect-uri').textContent()).toBe(
      `${dashboard.server.url}/api/v1/auth/oidc/callback`,
    );
    expect(await ownerPage.getByTestId('sso-sign-in-link').textContent()).toBe(
      `${dashboard.server.url}/#/sign-in?workspace=default`,
    );
    expect(await ownerPage.getByTestId('sso-new-people').textContent()).toBe(
      'join as viewer when their verified email is at example.com',
    );
    await screenshot(ownerPage, 'settings-sso');

    const stored = unwrap(await dashboard.owner.call('oidcConfigGet', {}));
    expect(stored).toMatchObject({
      issuer: idp.issuer,
      clientId: idp.clientId,
      hasClientSecret: true,
      defaultRole: 'viewer',
      allowedDomains: ['example.com'],
    });
  });

  it('shows an admin the settings without the means to change them', async () => {
    const { context, page } = await freshPage();
    try {
      await signInWithKey(page, dashboard.server.url, await dashboard.server.createKey('admin'));
      await page.getByTestId('nav-settings').click();
      await page.getByTestId('sso-summary').waitFor();
      expect(await page.getByTestId('sso-issuer-value').textContent()).toBe(idp.issuer);
      expect(await page.getByText('Only owners change single sign-on.').count()).toBe(1);
      expect(await page.getByTestId('sso-edit').count()).toBe(0);
      expect(await page.getByTestId('sso-turn-off').count()).toBe(0);
    } finally {
      await context.close();
    }
  });

  it('shows a reason it does not know as a general failure, even one named like a built-in property', async () => {
    const { context } = await freshPage();
    try {
      for (const reason of ['__proto__', 'toString', 'sso_something_new']) {
        // a fresh document each time, as the server's redirect makes one
        const tab = policy.watch(await context.newPage());
        await tab.goto(`${dashboard.server.url}/#/sign-in?error=${reason}`);
        await tab.getByTestId('sign-in-error').waitFor();
        expect(await tab.getByTestId('sign-in-error').textContent()).toBe('Single sign-on did not finish. Please try again.');
        expect(await tab.getByTestId('sign-in-sso-form').count()).toBe(1);
        await tab.close();
      }
    } finally {
      await context.close();
    }
  });

  it('signs a person in through the provider from the shared link and lands where they were going', async () => {
    idp.person = { sub: 'sso-ada', email: 'ada@example.com', emailVerified: true, name: 'Ada' };
    const { context, page } = await freshPage();
    try {
      // Signed out, the runs page sends the person to sign in and remembers where they were going.
      await page.goto(`${dashboard.server.url}/#/runs`);
      await page.getByTestId('sign-in-sso-form').waitFor();
      expect(new URL(page.url()).hash).toBe('#/sign-in?next=%2Fruns');
      await page.getByTestId('sign-in-sso-workspace').fill('default');
      await screenshot(page, 'sign-in-sso');
      await page.getByTestId('sign-in-sso-submit').click();

      await page.getByTestId('user-email').getByText('ada@example.com').waitFor();
      expect(await page.locator('.role').textContent()).toBe('viewer');
      expect(new URL(page.url()).hash).toBe('#/runs');
      const members = unwrap(await dashboard.owner.call('membersList', {})).items;
      expect(members.find((m) => m.email === 'ada@example.com')).toMatchObject({ role: 'viewer', sso: true });

      // The workspace is remembered in this browser for the next sign-in.
      await page.getByTestId('sign-out').click();
      await page.getByTestId('sign-in-sso-form').waitFor();
      expect(await page.getByTestId('sign-in-sso-workspace').inputValue()).toBe('default');
    } finally {
      await context.close();
    }
  });

  it('sends a person the provider vouches for but the workspace does not admit back to sign in, with the reason', async () => {
    idp.person = { sub: 'sso-eve', email: 'eve@elsewhere.org', emailVerified: true };
    const { context, page } = await freshPage();
    try {
      await page.goto(`${dashboard.server.url}/#/sign-in?workspace=default`);
      await page.getByTestId('sign-in-sso-submit').click();
      await page.getByTestId('sign-in-error').waitFor();
      expect(await page.getByTestId('sign-in-error').textContent()).toContain('not a member of this workspace');
      // The reason leaves the address bar, so a reload does not show it again.
      await page.waitForURL((url) => !url.hash.includes('error='));
      expect(await context.cookies()).not.toContainEqual(expect.objectContaining({ name: 'outpost_session' }));
      await screenshot(page, 'sign-in-sso-refused');
    } finally {
      await context.close();
    }
  });

  it('tells a person who names a workspace without single sign-on so, on the sign-in page', async () => {
    const { context, page } = await freshPage();
    try {
      await page.goto(`${dashboard.server.url}/#/sign-in`);
      await page.getByTestId('sign-in-sso-workspace').fill('no-such-workspace');
      await page.getByTestId('sign-in-sso-submit').click();
      await page.getByTestId('sign-in-error').waitFor();
      expect(await page.getByTestId('sign-in-error').textContent()).toContain('No workspace by that name');
    } finally {
      await context.close();
    }
  });

  it('lets the owner turn single sign-on off, after which the provider no longer signs anyone in', async () => {
    await ownerPage.getByTestId('sso-turn-off').click();
    await ownerPage.getByTestId('sso-turn-off-confirm').click();
    await ownerPage.getByTestId('sso-off').waitFor();
    expect(await dashboard.owner.call('oidcConfigGet', {})).toMatchObject({ ok: true, status: 200, data: null });
    expect(ownerConsoleErrors).toEqual([]);

    idp.person = { sub: 'sso-ada', email: 'ada@example.com', emailVerified: true };
    const { context, page } = await freshPage();
    try {
      await page.goto(`${dashboard.server.url}/#/sign-in?workspace=default`);
      await page.getByTestId('sign-in-sso-submit').click();
      await page.getByTestId('sign-in-error').waitFor();
      expect(await page.getByTestId('sign-in-error').textContent()).toContain('No workspace by that name');
    } finally {
      await context.close();
    }
  });
});
