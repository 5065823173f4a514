import { startTestServer, type TestServer, type TestWorkspace } from '@outpost/api/testing';
import { linkIn, TestMailbox } from '@outpost/api/testing-mailbox';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PolicyWatch, screenshot } from '../support/dashboard.js';

const PASSWORD = 'the owner of this address chose it';

let mailbox: TestMailbox;
let server: TestServer;
let ownerA: OutpostClient;
let b: TestWorkspace;
let ownerB: OutpostClient;
let slugB: string;
let browser: Browser;
const policy = new PolicyWatch();

beforeAll(async () => {
  mailbox = await TestMailbox.start();
  server = await startTestServer({ mail: { smtpUrl: mailbox.url, from: 'Outpost <outpost@example.com>' } });
  ownerA = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  b = await server.createWorkspace();
  ownerB = new OutpostClient({ baseUrl: server.url, token: b.ownerKey });
  slugB = unwrap(await ownerB.call('whoami', {})).workspace.slug;
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await ownerA?.close();
  await ownerB?.close();
  await server?.close();
  await mailbox?.close();
});

async function page(): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  return policy.watch(await context.newPage());
}

async function signInWithPassword(p: Page, email: string, workspaceName: string): Promise<void> {
  await p.getByTestId('sign-in-email').fill(email);
  await p.getByTestId('sign-in-password').fill(PASSWORD);
  await p.getByTestId('sign-in-password-submit').click();
  await p.getByTestId('workspace-name').getByText(workspaceName).waitFor();
}

describe('accepting an invitation in the dashboard', () => {
  it("lets the address's owner accept through the emailed link — choosing a password an admin elsewhere cannot know — and sign in", async () => {
    const email = 'alice@corp.example.com';
    // Workspace A's admin set the account up and chose its password…
    const inA = unwrap(await ownerA.call('membersAdd', { body: { email, role: 'developer' } }));
    unwrap(
      await ownerA.call('authPasswordSetup', { body: { token: inA.setupToken ?? '', password: 'the admin of A knows this' } }),
    );
    // …then workspace B invited the address, and the invitation went to its mailbox.
    const since = mailbox.messages.length;
    const inB = unwrap(await ownerB.call('membersAdd', { body: { email, role: 'runner' } }));
    expect(inB).toMatchObject({ outcome: 'invited', setupToken: null, email: 'sent' });
    const { link } = linkIn(await mailbox.next(email, { since }));

    const p = await page();
    await p.goto(link);
    await p.getByTestId('confirm-email').waitFor();
    await p.waitForURL((url) => !url.hash.includes('token='));
    // Keeping the password is not offered to an account an admin set up.
    await p.getByTestId('confirm-email-submit').click();
    await p.getByTestId('confirm-email-error').getByText('choose a new password').waitFor();
    await p.getByTestId('confirm-email-password').fill(PASSWORD);
    await p.getByTestId('confirm-email-repeat').fill(PASSWORD);
    await screenshot(p, 'confirm-email');
    await p.getByTestId('confirm-email-submit').click();
    await p.getByTestId('confirm-email-done').waitFor();
    expect(await p.getByTestId('confirm-email-joined').textContent()).toContain(slugB);

    await p.getByTestId('confirm-email-sign-in').click();
    // The link names the workspace, so the sign-in form asks for it, filled in.
    expect(await p.getByTestId('sign-in-password-workspace').inputValue()).toBe(slugB);
    await signInWithPassword(p, email, slugB);
    expect(await p.locator('.role').textContent()).toBe('runner');
    await screenshot(p, 'invitation-accepted-by-link');

    // The password A's admin chose opens nothing any more.
    const refused = unwrap(await ownerB.call('membersList', {})).items.find((m) => m.email === email);
    expect(refused).toMatchObject({ state: 'active', account: 'verified' });
    await p.context().close();
  });

  it('lets a signed-in person with a confirmed address accept an invitation under Settings, and asks an unconfirmed one to confirm first', async () => {
    const email = 'carol@corp.example.com';
    const since = mailbox.messages.length;
    unwrap(await ownerA.call('membersAdd', { body: { email, role: 'viewer' } }));
    const welcome = await mailbox.next(email, { since });
    unwrap(await ownerA.call('authEmailConfirm', { body: { token: linkIn(welcome).token, password: PASSWORD } }));
    unwrap(await ownerB.call('membersAdd', { body: { email, role: 'developer' } }));

    const p = await page();
    await p.goto(`${server.url}/#/sign-in`);
    await signInWithPassword(p, email, 'Default');
    await p.getByTestId('nav-settings').click();
    const row = p.locator(`[data-testid="invitation-row"][data-workspace="${slugB}"]`);
    await row.waitFor();
    await screenshot(p, 'settings-invitations');
    await row.getByTestId('invitation-accept').click();
    await p.getByTestId('invitation-accepted').waitFor();
    await row.waitFor({ state: 'detached' });

    await p.getByTestId('invitation-sign-in').click();
    await p.getByTestId('sign-in-password-workspace').waitFor();
    await signInWithPassword(p, email, slugB);
    expect(await p.locator('.role').textContent()).toBe('developer');
    await p.context().close();

    // A person whose account A manages sees no invitation, only the offer to confirm the address.
    const dan = 'dan@corp.example.com';
    const managed = unwrap(await ownerA.call('membersAdd', { body: { email: dan, role: 'viewer' } }));
    unwrap(await ownerA.call('authPasswordSetup', { body: { token: managed.setupToken ?? '', password: PASSWORD } }));
    unwrap(await ownerB.call('membersAdd', { body: { email: dan, role: 'viewer' } }));
    const q = await page();
    await q.goto(`${server.url}/#/sign-in`);
    await signInWithPassword(q, dan, 'Default');
    await q.getByTestId('nav-settings').click();
    await q.getByTestId('verification').waitFor();
    expect(await q.getByTestId('invitation-row').count()).toBe(0);
    const before = mailbox.messages.length;
    await q.getByTestId('verification-send').click();
    await q.getByTestId('verification-notice').getByText('was sent there').waitFor();
    expect((await mailbox.next(dan, { since: before })).subject).toContain('Confirm your address');
    await q.context().close();
  });

  it("shows B's owner which members are invited, managed or verified", async () => {
    unwrap(await ownerB.call('membersAdd', { body: { email: 'new-to-outpost@corp.example.com', role: 'viewer' } }));
    const p = await page();
    await p.goto(`${server.url}/#/sign-in`);
    await p.getByTestId('sign-in-api-key').fill(b.ownerKey);
    await p.getByTestId('sign-in-submit').click();
    await p.getByTestId('workspace-name').getByText(slugB).waitFor();
    await p.getByTestId('nav-settings').click();
    const rowOf = (email: string) => p.locator(`[data-testid="member-row"][data-email="${email}"]`);
    await rowOf('dan@corp.example.com').waitFor();
    expect(await rowOf('dan@corp.example.com').getByTestId('member-state').textContent()).toBe('invited');
    expect(await rowOf('dan@corp.example.com').getByTestId('member-account').textContent()).toBe('unverified');
    expect(await rowOf('alice@corp.example.com').getByTestId('member-state').count()).toBe(0);
    expect(await rowOf('alice@corp.example.com').getByTestId('member-account').textContent()).toBe('verified');
    expect(await rowOf('new-to-outpost@corp.example.com').getByTestId('member-account').textContent()).toBe('managed');
    await screenshot(p, 'settings-members-states');
    await p.context().close();
    expect(policy.violations).toEqual([]);
  });
});
