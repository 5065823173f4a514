import { startTestServer, type TestServer, type TestWorkspace } from '@outpost/api/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { outpost } from './cli.support.js';

let server: TestServer;
let ws: TestWorkspace;
let slug: string;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  ws = await server.createWorkspace();
  const [row] = await server.sql<{ slug: string }[]>`SELECT slug FROM workspaces WHERE id = ${ws.workspaceId}`;
  slug = row?.slug ?? '';
});
afterAll(async () => {
  await server?.close();
});

test("the operator sets a workspace's quota with `outpost server quota set`, and its members read it with `outpost quotas`", {
  timeout: 60_000,
}, async () => {
  const set = await outpost(['server', 'quota', 'set', slug, 'automations', '3'], { env: { DATABASE_URL: server.databaseUrl } });
  expect(set.code, set.stderr).toBe(0);
  expect(set.stdout).toContain('automations: 3 (default 500); used 0');

  const env = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: await ws.createKey('viewer') };
  const shown = await outpost(['quotas'], { env });
  expect(shown.code, shown.stderr).toBe(0);
  const lines = shown.stdout.split('\n');
  expect(lines[0]).toMatch(/^QUOTA\s+LIMIT\s+USED\s+COUNTED\s+WHAT IS COUNTED/);
  expect(lines.find((l) => l.startsWith('automations '))).toMatch(/^automations\s+3 \(default 500\)\s+0\s+now\s/);
  expect(lines.find((l) => l.startsWith('eventsPerDay '))).toMatch(/^eventsPerDay\s+1000000\s+0\s+today \(UTC\)/);

  const unknown = await outpost(['server', 'quota', 'set', slug, 'eventsPerWeek', '3'], {
    env: { DATABASE_URL: server.databaseUrl },
  });
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toContain('no quota is named "eventsPerWeek"');
});
