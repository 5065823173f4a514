import type { startTestServer, TestServer } from '@outpost/api/testing';
import { linkIn, TestMailbox } from '@outpost/api/testing-mailbox';
import { type OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { PolicyWatch, startedValue, useDashboard } from './dashboard.js';

/** The password every person of an organisation suite confirms their address with. */
export const PASSWORD = 'a platform team keeps this one';

type ServerOptions = NonNullable<Parameters<typeof startTestServer>[0]>;

/**
 * What the organisation suites of the dashboard stand on: an API that mails through a test
 * mailbox, its owner's client, headless Chromium, and the organisation of the default workspace.
 */
export interface OrganisationDashboard {
  readonly mailbox: TestMailbox;
  readonly server: TestServer;
  readonly owner: OutpostClient;
  readonly browser: Browser;
  /** Watches every page the helpers open for content security policy violations. */
  readonly policy: PolicyWatch;
  /** The organisation the default workspace belongs to. */
  readonly organisation: { slug: string; id: string };
  /** A person added to the default workspace with `role`, who confirmed their address through the mailed link. */
  person(email: string, role: 'owner' | 'runner'): Promise<void>;
  /**
   * A browser context of its own (no cookies of anyone else) and a watched page in it.
   * `bypassCSP` lets axe-core's inline script in, for the accessibility check.
   */
  freshPage(options?: { bypassCSP?: boolean }): Promise<{ context: BrowserContext; page: Page }>;
  /** Signs `page` in as `email` with the password; `workspace` answers which one, asked once the account can open more than one. */
  signIn(page: Page, email: string, workspace?: string): Promise<void>;
  /** A fresh page signed in as `email` (to `workspace`, when asked), on the organisation's page. */
  signedInToOrganisation(
    email: string,
    options?: { workspace?: string; bypassCSP?: boolean },
  ): Promise<{ context: BrowserContext; page: Page }>;
}

/**
 * Starts the mailbox, the API (with `server` options added, read once the file's earlier
 * `beforeAll` hooks have run), the owner's client and Chromium before the file's tests, then runs
 * `seed`; closes them all after the tests.
 */
export function useOrganisationDashboard(
  options: { server?: () => Partial<ServerOptions>; seed?: () => Promise<void> } = {},
): OrganisationDashboard {
  let mailbox: TestMailbox | undefined;
  let organisation: { slug: string; id: string } | undefined;
  const started = <T>(value: T | undefined): T => startedValue(value, 'the organisation dashboard');
  const policy = new PolicyWatch();
  // The mailbox starts before the API mails through it, and closes after it (`afterAll` hooks run last-registered first).
  beforeAll(async () => {
    mailbox = await TestMailbox.start();
  });
  afterAll(async () => {
    await mailbox?.close();
  });
  const base = useDashboard(() => ({
    loops: false,
    ...options.server?.(),
    mail: { smtpUrl: started(mailbox).url, from: 'Outpost <outpost@example.com>' },
  }));
  const dashboard: OrganisationDashboard = {
    get mailbox() {
      return started(mailbox);
    },
    get server() {
      return base.server;
    },
    get owner() {
      return base.owner;
    },
    get browser() {
      return base.browser;
    },
    get organisation() {
      return started(organisation);
    },
    policy,
    async person(email, role) {
      const since = dashboard.mailbox.messages.length;
      unwrap(await dashboard.owner.call('membersAdd', { body: { email, role } }));
      const { token } = linkIn(await dashboard.mailbox.next(email, { since }));
      unwrap(await dashboard.owner.call('authEmailConfirm', { body: { token, password: PASSWORD } }));
    },
    async freshPage({ bypassCSP = false } = {}) {
      const context = await dashboard.browser.newContext({ viewport: { width: 1360, height: 900 }, bypassCSP });
      return { context, page: policy.watch(await context.newPage()) };
    },
    async signIn(page, email, workspace) {
      await page.goto(`${dashboard.server.url}/#/sign-in`);
      await page.getByTestId('sign-in-email').fill(email);
      await page.getByTestId('sign-in-password').fill(PASSWORD);
      if (workspace) {
        await page.getByTestId('sign-in-password-submit').click();
        await page.getByTestId('sign-in-password-workspace').fill(workspace);
      }
      await page.getByTestId('sign-in-password-submit').click();
      await page.getByTestId('user-email').getByText(email).waitFor();
    },
    async signedInToOrganisation(email, { workspace, bypassCSP } = {}) {
      const { context, page } = await dashboard.freshPage({ bypassCSP });
      await dashboard.signIn(page, email, workspace);
      await page.getByTestId('nav-organisation').click();
      await page.getByTestId('organisation-role').waitFor();
      return { context, page };
    },
  };
  beforeAll(async () => {
    const server = base.server;
    const [row] = await server.sql<{ slug: string; id: string }[]>`
      SELECT o.slug, o.id FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${server.workspaceId}`;
    if (!row) throw new Error('the default workspace has no organisation');
    organisation = { slug: row.slug, id: row.id };
    await options.seed?.();
  }, 120_000);
  return dashboard;
}
