import { randomUUID } from 'node:crypto';
import { linkIn } from '@outpost/api/testing-mailbox';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { screenshot } from '../support/dashboard.js';
import { useOrganisationDashboard } from '../support/organisation-dashboard.js';

const clients: OutpostClient[] = [];

async function page(): Promise<Page> {
  return (await dash.freshPage()).page;
}

/** A run of `key`'s workspace that failed: deployed, claimed and reported over HTTP, as a worker would. */
async function failedRun(key: string): Promise<void> {
  const api = new OutpostClient({ baseUrl: dash.server.url, token: key });
  clients.push(api);
  unwrap(await api.call('poolsCreate', { body: { name: 'default' } }));
  const { deployment } = unwrap(
    await api.call('deploymentsUpsert', {
      body: { flowName: 'train', name: 'nightly', source: `dir:///${randomUUID()}`, entrypoint: 'flow.mjs', workPool: 'default' },
    }),
  );
  const { flowRun } = unwrap(await api.call('deploymentsCreateRun', { params: { id: deployment.id }, body: {} }));
  const [claimed] = unwrap(
    await api.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 1 } }),
  ).runs;
  if (!claimed) throw new Error('the run was not claimed');
  const run = new OutpostClient({ baseUrl: dash.server.url, token: claimed.token });
  clients.push(run);
  for (const type of ['RUNNING', 'FAILED'] as const) {
    unwrap(
      await run.call('flowRunsSetState', { params: { id: flowRun.id }, body: { transitionId: randomUUID(), state: { type } } }),
    );
  }
}

const dash = useOrganisationDashboard({ seed });

async function seed(): Promise<void> {
  // The first owner of the default workspace owns its organisation; Bob runs flows in it.
  await dash.person('alice@platform.example.com', 'owner');
  await dash.person('bob@platform.example.com', 'runner');
}
afterAll(async () => {
  for (const c of clients) await c.close();
});

describe('organisations in the dashboard', () => {
  it("lets the organisation's owner create a workspace, switch to it, see its failures on the organisation's home, archive and restore it, and make an auditor who reads it", async () => {
    const alice = await page();
    await dash.signIn(alice, 'alice@platform.example.com');
    await alice.getByTestId('nav-organisation').click();
    await alice.getByTestId('organisation-role').getByText('organisation owner').waitFor();
    await alice.locator('[data-testid="organisation-workspace-row"][data-workspace="default"]').waitFor();

    await alice.getByTestId('workspace-create-slug').fill('vision');
    await alice.getByTestId('workspace-create-name').fill('Vision team');
    await alice.getByTestId('workspace-create').click();
    const vision = alice.locator('[data-testid="organisation-workspace-row"][data-workspace="vision"]');
    await vision.waitFor();
    expect(await vision.getAttribute('data-health')).toBe('healthy');
    // People shows her new place without a reload: she owns the workspace she made.
    await alice
      .locator('[data-testid="organisation-person"][data-email="alice@platform.example.com"]')
      .getByTestId('organisation-person-workspaces')
      .getByText('vision (owner)')
      .waitFor();
    // Scrolled to its end, the page scrolls inside the frame: the document itself never scrolls.
    await alice.locator('.content').evaluate((el: { scrollTop: number; scrollHeight: number }) => {
      el.scrollTop = el.scrollHeight;
    });
    expect(
      await alice.evaluate(() => {
        const root = (globalThis as unknown as { document: { scrollingElement: { scrollHeight: number; clientHeight: number } } })
          .document.scrollingElement;
        return root.scrollHeight - root.clientHeight;
      }),
    ).toBe(0);

    // The switcher in the top bar moves the session to the new workspace, where Alice is owner.
    await alice.getByTestId('workspace-switcher').selectOption('vision');
    await alice.getByTestId('workspace-name').getByText('Vision team').waitFor();
    // The top bar names the workspace once: the closed switcher says what it does, not the name again.
    const switcher = alice.getByTestId('workspace-switcher');
    expect(
      await switcher.evaluate(
        (s: { selectedOptions: ArrayLike<{ textContent: string | null }> }) => s.selectedOptions[0]?.textContent,
      ),
    ).toBe('Switch workspace…');
    expect(await switcher.locator('option[value="vision"]').isDisabled()).toBe(true);
    expect(await switcher.locator('option[value="default"]').isDisabled()).toBe(false);
    expect(await alice.locator('.role').textContent()).toBe('owner');
    await alice.getByTestId('nav-settings').click();
    await alice.getByTestId('api-key-name').fill('training');
    await alice.getByTestId('api-key-role').selectOption('owner');
    await alice.getByTestId('api-key-create').click();
    const key = await alice.getByTestId('api-key-secret').inputValue();
    expect(key).toMatch(/^op_/);
    await failedRun(key);

    // The organisation's home puts the failing workspace first.
    await alice.getByTestId('nav-organisation').click();
    const rows = alice.getByTestId('organisation-workspace-row');
    await alice.locator('[data-testid="organisation-workspace-row"][data-health="attention"]').waitFor();
    expect(await rows.first().getAttribute('data-workspace')).toBe('vision');
    expect(await rows.first().getByTestId('workspace-failed').textContent()).toBe('1');
    await screenshot(alice, 'organisation-home');

    await vision.getByTestId('workspace-archive').click();
    await vision.getByTestId('workspace-archive-confirm').click();
    await alice.locator('[data-testid="organisation-workspace-row"][data-workspace="vision"][data-health="archived"]').waitFor();
    const refused = await new OutpostClient({ baseUrl: dash.server.url, token: key }).call('poolsCreate', {
      body: { name: 'more' },
    });
    expect(refused.ok).toBe(false);
    await vision.getByTestId('workspace-restore').click();
    await alice.locator('[data-testid="organisation-workspace-row"][data-workspace="vision"][data-health="attention"]').waitFor();

    // Bob becomes an auditor: he reads every workspace of the organisation, as a viewer where he is no member.
    const bobRow = alice.locator('[data-testid="organisation-person"][data-email="bob@platform.example.com"]');
    await bobRow.getByTestId('organisation-person-role').selectOption('auditor');
    // What the server kept, read again after a reload.
    await alice.reload();
    await expect.poll(() => bobRow.getByTestId('organisation-person-role').inputValue()).toBe('auditor');
    await screenshot(alice, 'organisation-people');
    await alice.context().close();

    const bob = await page();
    await dash.signIn(bob, 'bob@platform.example.com', 'vision');
    await bob.getByTestId('workspace-name').getByText('Vision team').waitFor();
    expect(await bob.locator('.role').textContent()).toBe('viewer');
    await bob.getByTestId('nav-runs').click();
    await bob.getByTestId('run-row').first().waitFor();
    expect(await bob.getByTestId('run-row').count()).toBe(1);
    await bob.getByTestId('nav-organisation').click();
    await bob.getByTestId('organisation-role').getByText('organisation auditor').waitFor();
    await bob.locator('[data-testid="organisation-workspace-row"][data-workspace="default"]').waitFor();
    expect(await bob.getByTestId('workspace-create-form').count()).toBe(0);
    // In his own workspace his membership's role is his.
    await bob.getByTestId('workspace-switcher').selectOption('default');
    await bob.getByTestId('workspace-name').getByText('Default').waitFor();
    expect(await bob.locator('.role').textContent()).toBe('runner');
    await bob.context().close();
    expect(dash.policy.violations).toEqual([]);
  });

  it('tells an organisation owner whose address is unconfirmed, once, how to confirm it, instead of an error in every section', async () => {
    await dash.person('carol@platform.example.com', 'owner');
    // An account the workspace set up whose address is not confirmed (as `outpost users add` makes
    // one), made an owner of the organisation.
    await dash.server.sql`
      UPDATE organisation_members SET role = 'owner'
      FROM users u WHERE organisation_members.user_id = u.id AND u.email = 'carol@platform.example.com'`;
    await dash.server.sql`
      UPDATE users SET email_verified_at = NULL, managed_by = ${dash.server.workspaceId} WHERE email = 'carol@platform.example.com'`;
    const carol = await page();
    await dash.signIn(carol, 'carol@platform.example.com');
    await carol.getByTestId('nav-organisation').click();
    const confirm = carol.getByTestId('organisation-confirm-address');
    await confirm.getByText('Confirm your email address').waitFor();
    // The workspaces she can open are listed; no section asks the API for what it would refuse.
    await carol.locator('[data-testid="organisation-workspace-row"][data-workspace="default"]').waitFor();
    expect(await carol.locator('.notice-error').count()).toBe(0);
    expect(await carol.getByTestId('organisation-people').count()).toBe(0);
    expect(await carol.getByTestId('organisation-groups').count()).toBe(0);
    expect(await carol.getByTestId('workspace-create-form').count()).toBe(0);

    const since = dash.mailbox.messages.length;
    await confirm.getByTestId('verification-send').click();
    await confirm.getByTestId('verification-notice').waitFor();
    const { token } = linkIn(await dash.mailbox.next('carol@platform.example.com', { since }));
    expect(token.length).toBeGreaterThan(0);
    await carol.context().close();
    expect(dash.policy.violations).toEqual([]);
  });
});
