import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createOrganisationToken, startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { CLI } from './cli.support.js';

const run = promisify(execFile);

let server: TestServer;
let dir: string;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  dir = mkdtempSync(join(tmpdir(), 'outpost-audit-'));
  // A few audited changes, so the chain has entries to hold.
  for (const name of ['audit-a', 'audit-b', 'audit-c']) {
    const res = await fetch(`${server.url}/api/v1/work-pools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name }),
    });
    expect(res.status).toBe(201);
  }
});
afterAll(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function outpost(env: Record<string, string>, ...args: string[]): Promise<Outcome> {
  try {
    const done = await run(process.execPath, [CLI, ...args], {
      env: { PATH: process.env.PATH ?? '', OUTPOST_API_URL: server.url, ...env },
      timeout: 30_000,
    });
    return { code: 0, ...done };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const withKey = (...args: string[]) => outpost({ OUTPOST_API_KEY: server.ownerKey }, ...args);

async function savedExport(): Promise<string[]> {
  const res = await fetch(`${server.url}/api/v1/audit-log/export`, { headers: { authorization: `Bearer ${server.ownerKey}` } });
  expect(res.status).toBe(200);
  return (await res.text()).trimEnd().split('\n');
}

describe('outpost audit verify', () => {
  test("verifies the workspace's chain to its head, and keeps the head in the anchor file for the next run", async () => {
    const anchor = join(dir, 'anchor.json');
    const first = await withKey('audit', 'verify', '--anchor', anchor);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/WORKSPACE\s+ENTRIES\s+PLACES\s+LAST HASH\s+CHAIN/);
    expect(first.stdout).toMatch(/\s1–\d+\s+[0-9a-f]{12}\s+holds/);
    const kept = JSON.parse(readFileSync(anchor, 'utf8')) as { heads: { workspaceId: string; seq: string; hash: string }[] };
    expect(kept.heads).toEqual([expect.objectContaining({ workspaceId: server.workspaceId })]);

    // The chain has grown since; it still passes through the anchor, which moves to the new head.
    await fetch(`${server.url}/api/v1/work-pools`, {
      method: 'POST',
      headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'audit-d' }),
    });
    const second = await withKey('audit', 'verify', '--anchor', anchor, '--json');
    expect(second.code, second.stderr).toBe(0);
    const [report] = JSON.parse(second.stdout) as { lastSeq: string; problems: string[] }[];
    expect(report?.problems).toEqual([]);
    const moved = JSON.parse(readFileSync(anchor, 'utf8')) as { heads: { seq: string }[] };
    expect(Number(moved.heads[0]?.seq)).toBe(Number(kept.heads[0]?.seq) + 1);
    expect(moved.heads[0]?.seq).toBe(report?.lastSeq);
  });

  test('finds an entry changed or removed in a saved export, and accepts gaps only in a filtered one', async () => {
    const lines = await savedExport();
    expect(lines.length).toBeGreaterThanOrEqual(3);
    const whole = join(dir, 'whole.ndjson');
    writeFileSync(whole, `${lines.join('\n')}\n`);
    const held = await withKey('audit', 'verify', '--file', whole);
    expect(held.code, held.stderr).toBe(0);

    const changed = [...lines];
    const entry = JSON.parse(changed[1] ?? '{}') as { id: string; status: number; chain: { seq: string } };
    changed[1] = JSON.stringify({ ...entry, status: 500 });
    writeFileSync(join(dir, 'changed.ndjson'), changed.join('\n'));
    const broken = await withKey('audit', 'verify', '--file', join(dir, 'changed.ndjson'));
    expect(broken.code).toBe(1);
    expect(broken.stdout).toMatch(/broken/);
    expect(broken.stderr).toContain(`entry ${entry.id} (place ${entry.chain.seq}): its content does not match its hash`);
    expect(broken.stderr).toContain('the audit chain does not hold: 1 problem;');

    const removed = lines.filter((_, i) => i !== 1);
    writeFileSync(join(dir, 'removed.ndjson'), removed.join('\n'));
    const missing = await withKey('audit', 'verify', '--file', join(dir, 'removed.ndjson'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`places ${entry.chain.seq} to ${entry.chain.seq} are missing`);
    const filtered = await withKey('audit', 'verify', '--file', join(dir, 'removed.ndjson'), '--partial');
    expect(filtered.code, filtered.stderr).toBe(0);
    expect(filtered.stdout).toContain('holds, 1 gaps');

    writeFileSync(join(dir, 'not-an-export.ndjson'), '{"hello": "world"}\n');
    const wrong = await withKey('audit', 'verify', '--file', join(dir, 'not-an-export.ndjson'));
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('line 1: not an audit entry with its chain');
    expect(wrong.stderr).not.toMatch(/\n\s+at /);
  });

  test('verifies every workspace of the organisation with an organisation token, and says what to do without one', async () => {
    const token = await createOrganisationToken(server.sql, server.workspaceId);
    const [org] = await server.sql<{ slug: string }[]>`
      SELECT o.slug FROM organisations o JOIN workspaces w ON w.organisation_id = o.id WHERE w.id = ${server.workspaceId}`;
    const slug = org?.slug ?? '';
    const verified = await outpost({ OUTPOST_ORGANISATION_TOKEN: token }, 'audit', 'verify', '--organisation', slug);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/\ndefault\s+\d+\s+1–\d+\s+[0-9a-f]{12}\s+holds/);

    const without = await outpost({}, 'audit', 'verify', '--organisation', slug);
    expect(without.code).toBe(2);
    expect(without.stderr).toContain('no organisation token: set OUTPOST_ORGANISATION_TOKEN');
    const unknown = await outpost(
      { OUTPOST_ORGANISATION_TOKEN: token },
      'audit',
      'verify',
      '--organisation',
      slug,
      '--workspace',
      'nope',
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain(`the organisation "${slug}" has no workspace "nope"`);
  });
});
