import { AuditEntry } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import { screenshot } from '../support/dashboard.js';
import { useOrganisationDashboard } from '../support/organisation-dashboard.js';

const ALICE = 'alice@platform.example.com';

let organisation: string;

/** What a SIEM does with the token: pulls the organisation's export from outside the browser. */
function pull(token: string): Promise<Response> {
  return fetch(`${dash.server.url}/api/v1/organisations/${organisation}/audit-log/export`, {
    headers: { authorization: `Bearer ${token}` },
  });
}

const dash = useOrganisationDashboard({ seed });

async function seed(): Promise<void> {
  // The first owner of the default workspace owns its organisation.
  await dash.person(ALICE, 'owner');
  organisation = dash.organisation.slug;
}

describe('organisation tokens and audit in the dashboard', () => {
  it("lets the organisation's owner make a token shown once, which pulls the organisation's audit export until she revokes it, and shows each workspace's chain head", async () => {
    const { context, page: alice } = await dash.freshPage();
    await dash.signIn(alice, ALICE);
    await alice.getByTestId('nav-organisation').click();
    await alice.getByTestId('organisation-role').getByText('organisation owner').waitFor();

    // The audit section: the default workspace's chain head, and a download link for the whole organisation.
    const head = alice.locator('[data-testid="organisation-audit-head"][data-workspace="default"]');
    await head.waitFor();
    const seq = await head.getByTestId('organisation-audit-head-seq').textContent();
    const shownHash = await head.getByTestId('organisation-audit-head-hash').textContent();
    // Adding Alice and her confirming her address were audited in the default workspace.
    expect(Number(seq)).toBeGreaterThan(0);
    expect(shownHash).toMatch(/^[0-9a-f]{12}$/);
    const exportLink = alice.getByTestId('organisation-audit-export');
    expect(await exportLink.getAttribute('href')).toBe(`/api/v1/organisations/${organisation}/audit-log/export`);
    expect(await exportLink.getAttribute('download')).not.toBeNull();
    await alice.getByTestId('organisation-audit-workspace').selectOption('default');
    expect(await exportLink.getAttribute('href')).toBe(
      `/api/v1/organisations/${organisation}/audit-log/export?workspace=default`,
    );
    // The link downloads with the session's cookie, as the browser follows it.
    const download = await context.request.get(`${dash.server.url}${await exportLink.getAttribute('href')}`);
    expect(download.status()).toBe(200);
    expect(download.headers()['content-type']).toContain('application/x-ndjson');

    // Making a token shows it once, with how a SIEM and the CLI use it.
    expect(await alice.getByTestId('organisation-token-row').count()).toBe(0);
    await alice.getByTestId('organisation-token-name').fill('siem-pull');
    await alice.getByTestId('organisation-token-create').click();
    const secret = alice.getByTestId('organisation-token-secret');
    await secret.waitFor();
    const token = await secret.inputValue();
    expect(token).toMatch(/^opo_/);
    const usage = await alice.getByTestId('organisation-token-usage').textContent();
    expect(usage).toContain(`GET /api/v1/organisations/${organisation}/audit-log/export`);
    expect(usage).toContain('Authorization: Bearer <token>');
    expect(usage).toContain(`OUTPOST_ORGANISATION_TOKEN=<token> outpost audit verify --organisation ${organisation}`);
    const row = alice.locator('[data-testid="organisation-token-row"][data-token-name="siem-pull"]');
    await alice.locator('[data-testid="organisation-token-row"][data-token-name="siem-pull"][data-state="live"]').waitFor();
    expect(await row.locator('code').first().textContent()).toBe('audit:read');
    expect(await row.getByTestId('organisation-token-last-used').textContent()).toBe('never');
    await screenshot(alice, 'organisation-token-made');
    await alice.getByTestId('organisation-token-done').click();
    await alice.getByTestId('organisation-token-created').waitFor({ state: 'detached' });
    expect(await alice.getByTestId('organisation-token-secret').count()).toBe(0);

    // The SIEM's pull: every line an audit entry with its place in its workspace's chain, reaching
    // the head the dashboard showed, and the making of the token among them.
    const pulled = await pull(token);
    expect(pulled.status).toBe(200);
    expect(pulled.headers.get('content-type')).toContain('application/x-ndjson');
    const lines = (await pulled.text()).split('\n').filter((l) => l !== '');
    expect(lines.length).toBeGreaterThan(Number(seq));
    const entries = lines.map((l) => AuditEntry.parse(JSON.parse(l)));
    for (const entry of entries) expect(entry.chain.hash).toMatch(/^[0-9a-f]{64}$/);
    const seen = entries.find((e) => e.workspaceId === dash.server.workspaceId && e.chain.seq === seq);
    expect(seen?.chain.hash.slice(0, 12)).toBe(shownHash);
    expect(entries.some((e) => e.action === 'organisationTokensCreate')).toBe(true);

    // The token is not shown again: after a reload only its name and prefix are, with its first use.
    await alice.reload();
    await row.waitFor();
    await expect.poll(() => row.getByTestId('organisation-token-last-used').textContent()).not.toBe('never');
    expect(await alice.getByTestId('organisation-token-secret').count()).toBe(0);
    expect(await alice.locator('body').innerText()).not.toContain(token);

    // Revoking asks first; the next pull is refused.
    await row.getByTestId('organisation-token-revoke').click();
    await row.getByTestId('organisation-token-revoke-confirm').click();
    await alice.locator('[data-testid="organisation-token-row"][data-token-name="siem-pull"][data-state="revoked"]').waitFor();
    expect(await row.getByTestId('organisation-token-state').textContent()).toBe('Revoked');
    const refused = await pull(token);
    expect(refused.status).toBe(401);
    await refused.body?.cancel();
    await screenshot(alice, 'organisation-token-revoked');
    await context.close();
    expect(dash.policy.violations).toEqual([]);
  });
});
