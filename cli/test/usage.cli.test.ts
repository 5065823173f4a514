import { createOrganisationToken, startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpost } from './cli.support.js';

let server: TestServer;
let usageToken: string;
const month = new Date().toISOString().slice(0, 7);

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  usageToken = await createOrganisationToken(server.sql, server.workspaceId, 'billing', ['usage:read']);
  // Three events of the default workspace: usage to show.
  const res = await fetch(`${server.url}/api/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events: ['a', 'b', 'c'].map((k) => ({ kind: `usage.${k}`, payload: {} })) }),
  });
  expect(res.status).toBeLessThan(300);
});
afterAll(async () => {
  await server?.close();
});

/** `outpost <args>` against the test API, with `env` (an organisation token, or none). */
const usageCli = (env: Record<string, string>, ...args: string[]) =>
  outpost(args, { env: { OUTPOST_API_URL: server.url, ...env } });

async function organisationSlug(): Promise<string> {
  const [row] = await server.sql<{ slug: string }[]>`
    SELECT o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${server.workspaceId}`;
  return row?.slug ?? '';
}

describe('outpost usage', () => {
  test("prints each workspace's month as the API counts it, and the CSV export line for line", async () => {
    const org = await organisationSlug();
    const api = await fetch(`${server.url}/api/v1/organisations/${org}/usage`, {
      headers: { authorization: `Bearer ${usageToken}` },
    });
    const answer = (await api.json()) as { items: { workspace: string; events: number; runs: number }[] };
    const [mine] = answer.items;
    expect(mine?.events).toBeGreaterThanOrEqual(3);

    const shown = await usageCli({ OUTPOST_ORGANISATION_TOKEN: usageToken }, 'usage', '--organisation', org);
    expect(shown.code, shown.stderr).toBe(0);
    const [header, row] = shown.stdout.trimEnd().split('\n');
    expect(header?.split(/\s{2,}/)).toEqual([
      'MONTH',
      'WORKSPACE',
      'RUNS',
      'TASK RUNS',
      'COMPUTE',
      'LOG LINES',
      'LOG BYTES',
      'EVENTS',
      'METADATA',
    ]);
    const cells = row?.split(/\s{2,}/) ?? [];
    expect(cells.slice(0, 3)).toEqual([month, mine?.workspace, String(mine?.runs)]);
    expect(cells[7]).toBe(mine?.events.toLocaleString('en-US'));

    const csv = await usageCli(
      { OUTPOST_ORGANISATION_TOKEN: usageToken },
      'usage',
      '--organisation',
      org,
      '--csv',
      '--from',
      month,
    );
    expect(csv.code, csv.stderr).toBe(0);
    const served = await fetch(`${server.url}/api/v1/organisations/${org}/usage/export?from=${month}`, {
      headers: { authorization: `Bearer ${usageToken}` },
    });
    expect(csv.stdout).toBe((await served.text()).replaceAll('\r\n', '\n'));
  });

  test('says what to set without a token, refuses a malformed month, and names the scope a token lacks', async () => {
    const org = await organisationSlug();
    const none = await usageCli({}, 'usage', '--organisation', org);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no organisation token: set OUTPOST_ORGANISATION_TOKEN');
    expect(none.stderr).toContain('with the scope usage:read');

    const bad = await usageCli({ OUTPOST_ORGANISATION_TOKEN: usageToken }, 'usage', '--organisation', org, '--from', '2026-1');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--from takes a month as YYYY-MM; got 2026-1');

    const auditOnly = await createOrganisationToken(server.sql, server.workspaceId, 'siem');
    const refused = await usageCli({ OUTPOST_ORGANISATION_TOKEN: auditOnly }, 'usage', '--organisation', org);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('does not hold the scope "usage:read"');
    expect(refused.stderr).toMatch(/^error: cannot read the usage: Forbidden\n/);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});
