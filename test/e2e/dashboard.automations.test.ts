import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSignInLink } from '@outpost/api';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { TestMailbox } from '@outpost/api/testing-mailbox';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, PolicyWatch, screenshot } from '../support/dashboard.js';

let server: TestServer;
let mailbox: TestMailbox;
let owner: OutpostClient;
let browser: Browser;
let page: Page;
let receiver: Server | undefined;
const received: { path: string; body: string }[] = [];
let hookPort: number;
const policy = new PolicyWatch();

/** A loopback port nothing listens on (yet): deliveries to it are refused until the receiver starts there. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function startReceiver(port: number): Promise<Server> {
  const s = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', body });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => s.listen(port, '127.0.0.1', resolve));
  return s;
}

beforeAll(async () => {
  hookPort = await freePort();
  mailbox = await TestMailbox.start();
  server = await startTestServer({
    mail: { smtpUrl: mailbox.url, from: 'Outpost <outpost@example.com>' },
    secretKey: 's'.repeat(40),
    // one attempt, so a refused delivery is a dead letter at once; loopback receivers are allowed here
    notifications: { allowPrivateNetworks: true, baseDelayMs: 50, maxDelayMs: 200, maxAttempts: 1, idleMs: 100 },
  });
  owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
  page = policy.watch(await context.newPage());
  const link = await createSignInLink(server.sql, { workspaceId: server.workspaceId, role: 'owner' });
  await page.goto(`${server.url}${link.path}`);
  await page.getByTestId('workspace-name').getByText('Default').waitFor();
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await owner?.close();
  await server?.close();
  await mailbox?.close();
});

describe('notifications in the dashboard', () => {
  it('adds a webhook channel, shows its test delivery dead after a refused attempt, and a retry sends it', async () => {
    await page.goto(`${server.url}/#/notifications`);
    await page.getByTestId('channel-name').fill('ops');
    await page.getByTestId('channel-kind').selectOption('webhook');
    await page.getByTestId('channel-target').fill(`http://127.0.0.1:${hookPort}/hook`);
    await page.getByTestId('channel-create').click();
    expect(await page.getByTestId('channel-secret').textContent()).toMatch(/whsec_/);
    const channel = page.locator('[data-testid="channel-row"][data-name="ops"]');
    await channel.waitFor();
    expect(await channel.textContent()).toContain('webhook');
    expect(await channel.textContent()).toContain('Enabled');

    await channel.getByTestId('channel-test').click();
    await channel.getByTestId('channel-test-result').getByText('Test queued').waitFor();
    const dead = page.locator('[data-testid="delivery-row"][data-status="DEAD"][data-channel="ops"]');
    await dead.waitFor({ timeout: 20_000 });
    expect(await dead.getByTestId('delivery-attempts').textContent()).toBe('1');
    expect((await dead.getByTestId('delivery-error').textContent())?.length).toBeGreaterThan(0);
    const [listed] = unwrap(
      await owner.call('notificationDeliveriesList', { query: { status: 'DEAD', channel: 'ops', limit: 10 } }),
    ).items;
    expect(listed?.attempts).toBe(1);
    expect(await dead.textContent()).toContain(listed?.lastError ?? '(none)');
    await screenshot(page, 'notifications-dead-delivery');

    receiver = await startReceiver(hookPort);
    await dead.getByTestId('delivery-retry').click();
    await page.locator('[data-testid="delivery-row"][data-status="SENT"][data-channel="ops"]').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid="delivery-row"][data-status="DEAD"]').count()).toBe(0);
    expect(received.some((r) => r.path === '/hook')).toBe(true);
    const sent = unwrap(await owner.call('notificationDeliveriesGet', { params: { id: listed?.id ?? '' } }));
    expect(sent.status).toBe('SENT');

    await page.getByTestId('alert-rule-kind').selectOption('run-failed');
    await page.getByTestId('alert-rule-channel').selectOption('ops');
    await page.getByTestId('alert-rule-create').click();
    await page.getByTestId('alert-rule-row').filter({ hasText: 'alert.' }).waitFor();
    const rules = unwrap(await owner.call('alertRulesList', {})).items;
    expect(rules).toHaveLength(1);
    expect(await page.getByTestId('alert-rule-row').textContent()).toContain(rules[0]?.name ?? '(none)');
    await screenshot(page, 'notifications');
    expect(policy.violations).toEqual([]);
  });

  it('shows the external recipients of an email channel that have not confirmed yet', async () => {
    const since = mailbox.messages.length;
    unwrap(
      await owner.call('notificationChannelsCreate', {
        body: { name: 'mail-ops', kind: 'email', recipients: ['oncall@example.org'] },
      }),
    );
    // The address was mailed its confirmation link; until it confirms, the channel says so.
    await mailbox.next('oncall@example.org', { since });
    await page.goto(`${server.url}/#/notifications`);
    const row = page.locator('[data-testid="channel-row"][data-name="mail-ops"]');
    await row.getByTestId('channel-pending').waitFor();
    expect(await row.getByTestId('channel-pending').textContent()).toContain('oncall@example.org');
    expect(policy.violations).toEqual([]);
  });
});

describe('automations in the dashboard', () => {
  it('refuses an automation whose match does not compile, naming the field and the position', async () => {
    await page.goto(`${server.url}/#/automations`);
    await page.getByTestId('automation-new').click();
    await page.getByTestId('automation-json').fill(
      JSON.stringify({
        name: 'broken',
        trigger: { type: 'event', match: 'event.kind == ' },
        actions: [{ type: 'notify', channel: 'ops' }],
      }),
    );
    await page.getByTestId('automation-submit').click();
    const field = page.getByTestId('automation-field-error').first();
    await field.waitFor();
    expect(await field.textContent()).toMatch(/^body\.trigger\.match: .+\(line 1, column \d+\)$/);
    const names = unwrap(await owner.call('automationsList', { query: { limit: 10 } })).items.map((a) => a.name);
    expect(names).not.toContain('broken');
    await screenshot(page, 'automation-cel-error');
  });

  it('creates an automation, shows it listed and its firing, and toggling it disables it', async () => {
    await page.getByTestId('automation-json').fill(
      JSON.stringify({
        name: 'cache-stale-alert',
        trigger: { type: 'event', match: 'event.kind == "cache.stale"' },
        actions: [{ type: 'notify', channel: 'ops', subject: 'stale {{ event.kind }}' }],
      }),
    );
    await page.getByTestId('automation-submit').click();
    await page.getByTestId('automation-name').getByText('cache-stale-alert').waitFor();
    expect(await page.getByTestId('automation-status').textContent()).toBe('Enabled');
    expect(await page.getByTestId('automation-trigger').textContent()).toContain('cache.stale');

    unwrap(await owner.call('eventsEmit', { body: { events: [{ kind: 'cache.stale', payload: { table: 'orders' } }] } }));
    const action = page.getByTestId('firing-action').first();
    await action.waitFor({ timeout: 20_000 });
    expect(await action.getAttribute('data-status')).toBe('SUCCEEDED');
    expect(await action.textContent()).toContain('notify');
    await screenshot(page, 'automation-detail');

    await page.goto(`${server.url}/#/automations`);
    const row = page.locator('[data-testid="automation-row"][data-name="cache-stale-alert"]');
    await row.waitFor();
    expect(await row.getByTestId('automation-summary').textContent()).toBe('event.kind == "cache.stale"');
    expect(await row.textContent()).not.toContain('never');
    expect(await row.getAttribute('data-enabled')).toBe('true');
    // the alert rule made earlier is an automation too
    expect(await page.getByTestId('automation-row').count()).toBe(2);

    await row.getByTestId('automation-toggle').click();
    await page.locator('[data-testid="automation-row"][data-name="cache-stale-alert"][data-enabled="false"]').waitFor();
    const [stored] = unwrap(await owner.call('automationsList', { query: { limit: 10 } })).items.filter(
      (a) => a.name === 'cache-stale-alert',
    );
    expect(stored?.enabled).toBe(false);
    await screenshot(page, 'automations');
    expect(policy.violations).toEqual([]);
  });

  it('edits an automation as JSON, showing a refused edit with its position, then deletes it', async () => {
    await page.locator('[data-testid="automation-row"][data-name="cache-stale-alert"]').getByTestId('automation-link').click();
    await page.getByTestId('automation-name').getByText('cache-stale-alert').waitFor();
    await page.getByTestId('automation-edit').click();
    const editor = page.getByTestId('automation-edit-json');
    const saved = JSON.parse(await editor.inputValue()) as { trigger: { match: string }; enabled: boolean };
    expect(saved.trigger.match).toBe('event.kind == "cache.stale"');
    expect(saved.enabled).toBe(false);

    await editor.fill(JSON.stringify({ ...saved, trigger: { type: 'event', match: 'event.kind ==' } }));
    await page.getByTestId('automation-edit-submit').click();
    const refused = page.getByTestId('automation-edit-field-error').first();
    await refused.waitFor();
    expect(await refused.textContent()).toMatch(/^body\.trigger\.match: .+\(line 1, column \d+\)$/);

    await editor.fill(
      JSON.stringify({ ...saved, enabled: true, trigger: { type: 'event', match: 'event.kind == "cache.cold"' } }),
    );
    await page.getByTestId('automation-edit-submit').click();
    await page.getByTestId('automation-edit-form').waitFor({ state: 'detached' });
    await page.getByTestId('automation-trigger').getByText('cache.cold').waitFor();
    expect(await page.getByTestId('automation-status').textContent()).toBe('Enabled');
    const edited = unwrap(await owner.call('automationsList', { query: { limit: 10 } })).items.find(
      (a) => a.name === 'cache-stale-alert',
    );
    expect(edited?.trigger).toEqual({ type: 'event', match: 'event.kind == "cache.cold"' });
    await screenshot(page, 'automation-edited');

    await page.getByTestId('automation-delete').click();
    await page.getByTestId('automation-delete-confirm').click();
    await page.getByTestId('automations-page').waitFor();
    await page.locator('[data-testid="automation-row"][data-name="cache-stale-alert"]').waitFor({ state: 'detached' });
    const left = unwrap(await owner.call('automationsList', { query: { limit: 10 } })).items.map((a) => a.name);
    expect(left).not.toContain('cache-stale-alert');
    expect(policy.violations).toEqual([]);
  });

  it("shows a trigger's whole expression wrapped in its box, and the runs a firing started by name, linked to their pages", async () => {
    const { deployment } = unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName: 'refresh',
          name: 'warehouse',
          source: `oci://127.0.0.1:5000/acme/flows@sha256:${'a'.repeat(64)}`,
          entrypoint: 'flows/refresh.js',
          workPool: 'default',
        },
      }),
    );
    // Long enough that on one line it would run far past the box's right edge.
    const match = [
      'event.kind == "warehouse.table.loaded"',
      'event.payload.schema == "analytics_reporting_daily_snapshots"',
      'event.payload.table.startsWith("orders_by_customer_region_and_fulfilment_centre")',
      'event.payload.rows > 1000000',
    ].join(' && ');
    const automation = unwrap(
      await owner.call('automationsCreate', {
        body: {
          name: 'refresh-on-load',
          trigger: { type: 'event', match },
          actions: [{ type: 'run-deployment', deployment: 'refresh/warehouse' }],
        },
      }),
    );
    unwrap(
      await owner.call('eventsEmit', {
        body: {
          events: [
            {
              kind: 'warehouse.table.loaded',
              payload: {
                schema: 'analytics_reporting_daily_snapshots',
                table: 'orders_by_customer_region_and_fulfilment_centre_eu',
                rows: 2000000,
              },
            },
          ],
        },
      }),
    );

    await page.goto(`${server.url}/#/automations/${automation.id}`);
    const runLink = page.getByTestId('firing-run').first();
    await runLink.waitFor({ timeout: 20_000 });
    const { items: runs } = unwrap(await owner.call('flowRunsList', { query: { deploymentId: deployment.id, limit: 10 } }));
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(await runLink.getAttribute('href')).toBe(`#/runs/${run?.id}`);
    await expect.poll(() => runLink.textContent()).toBe(run?.name);
    expect(await page.getByTestId('firing-action').first().textContent()).not.toContain(run?.id ?? '');

    const box = page.getByTestId('automation-trigger');
    // The JSON shows the expression with its quotes escaped; all of it is there, on lines that fit the box.
    expect(JSON.parse(await box.innerText())).toEqual({ type: 'event', match });
    const fits = await box.evaluate((el: { scrollWidth: number; clientWidth: number }) => el.scrollWidth <= el.clientWidth);
    expect(fits).toBe(true);
    const font = await box.evaluate(
      (el) =>
        (globalThis as unknown as { getComputedStyle(node: unknown): { fontFamily: string } }).getComputedStyle(el).fontFamily,
    );
    expect(font).toMatch(/mono/i);
    await screenshot(page, 'automation-detail-run-firing');

    await runLink.click();
    await page.waitForURL(new RegExp(`#/runs/${run?.id}$`));
    expect(policy.violations).toEqual([]);
  });
});
