import type { OrganisationQuota } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { heldBy, QuotaTable } from '../src/pages/organisation-quotas.js';

function quota(over: Partial<OrganisationQuota>): OrganisationQuota {
  return {
    name: 'automations',
    limit: 500,
    operatorLimit: 500,
    organisationLimit: null,
    default: 500,
    used: 2,
    per: null,
    description: "automations, the workspace's own and its deployments' triggers",
    ...over,
  };
}

const ITEMS: OrganisationQuota[] = [
  quota({ limit: 3, organisationLimit: 3, used: 3 }),
  quota({ name: 'mailPerHour', limit: 50, operatorLimit: 50, default: 200, used: 7, per: 'hour', description: 'mail' }),
  quota({
    name: 'partitionsPerDefinition',
    limit: 100,
    operatorLimit: 100,
    organisationLimit: 400,
    default: 100_000,
    used: null,
    description: 'partitions',
  }),
];

function render(admin: boolean): string {
  return renderToStaticMarkup(
    <QuotaTable organisation="acme" workspace="vision" items={ITEMS} admin={admin} onSaved={() => {}} />,
  );
}

describe("the organisation's quotas table", () => {
  it("gives owners and admins a labelled number input per quota, capped at the operator's limit, and Remove only where the organisation set a limit", () => {
    const html = render(true);
    expect(html.match(/data-testid="organisation-quota-input"/g)).toHaveLength(3);
    expect(html).toMatch(
      /<label class="visually-hidden" for="organisation-quota-automations">Organisation&#x27;s limit of automations<\/label>/,
    );
    expect(html).toMatch(/id="organisation-quota-automations" type="number" inputMode="numeric" min="0" max="500"/);
    expect(html).toMatch(/id="organisation-quota-mailPerHour" type="number" inputMode="numeric" min="0" max="50"/);
    expect(html.match(/data-testid="organisation-quota-remove"/g)).toHaveLength(2);
  });

  it('shows auditors the limits as text, with no inputs or buttons', () => {
    const html = render(false);
    expect(html).not.toContain('<input');
    expect(html).not.toContain('<button');
    expect(html).toContain('data-quota="automations" data-held-by="organisation"');
    expect(html).toContain('>none<');
    expect(html).toContain('above the operator&#x27;s, so without effect');
  });

  it('tells which limit holds and what the count covers', () => {
    expect(ITEMS.map(heldBy)).toEqual(['organisation', 'operator', 'operator']);
    const html = render(false);
    expect(html).toContain('this hour (UTC)');
    expect(html).toContain('each on its own');
    // At its limit the count is marked.
    expect(html).toContain('<span class="pill pill-paused">3</span>');
  });
});
