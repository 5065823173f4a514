import { createHmac, randomUUID } from 'node:crypto';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { outpost as runCli, startOutpost } from './cli.support.js';

let server: TestServer;
let env: Record<string, string>;

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  env = { OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey };
});
afterAll(async () => {
  await server?.close();
});

const outpost = (...args: string[]) => runCli(args, { env });

describe('outpost events and webhooks', () => {
  test('emits an event, lists it, and tails new ones as one line each or as NDJSON', { timeout: 150_000 }, async () => {
    const tail = startOutpost(['events', 'tail', '--kind', 'cli.*', '--json'], { env });
    const plain = startOutpost(['events', 'tail', '--kind', 'cli.*'], { env });
    try {
      // A tail shows what is committed after it connected: emit until both have printed one.
      const emitted = await outpost('events', 'emit', 'cli.ping', '--payload', '{"n":1}');
      expect(emitted.code, emitted.stderr).toBe(0);
      expect(emitted.stdout).toMatch(/^recorded cli\.ping [0-9a-f-]{36}/);
      const deadline = Date.now() + 60_000;
      while (Date.now() < deadline && !(/cli\.ping/.test(tail.stdout()) && /cli\.ping/.test(plain.stdout()))) {
        const res = await fetch(`${server.url}/api/v1/events`, {
          method: 'POST',
          headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: [{ kind: 'cli.ping', payload: { n: 1 } }] }),
        });
        expect(res.status).toBe(202);
        await new Promise((r) => setTimeout(r, 250));
      }
      await tail.waitForStdout(/"kind":"cli\.ping"/);
      await plain.waitForStdout(/cli\.ping\s+api-key:/);
      const first = JSON.parse(tail.stdout().split('\n')[0] ?? '') as { kind: string; payload: unknown; source: string };
      expect(first).toMatchObject({ kind: 'cli.ping', payload: { n: 1 }, source: 'api' });
    } finally {
      tail.kill();
      plain.kill();
    }
    expect(tail.stderr()).toBe('');
    const listed = await outpost('events', 'ls', '--kind', 'cli.ping', '--json');
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as unknown[]).length).toBeGreaterThan(0);
    const bad = await outpost('events', 'emit', 'flow-run.completed');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('reserved for system events');
  });

  test('events ls hides internal bookkeeping unless --internal is given, and its help says so', {
    timeout: 150_000,
  }, async () => {
    const call = (path: string, body: unknown) =>
      fetch(`${server.url}/api/v1${path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${server.ownerKey}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    expect((await call('/work-pools', { name: 'cli-sensors' })).status).toBe(201);
    // A restarted worker adopting its runs: audited, and internal bookkeeping.
    expect(
      (await call('/work-pools/cli-sensors/runs/adopt', { workerId: randomUUID(), runs: [{ id: randomUUID(), attempt: 1 }] }))
        .status,
    ).toBe(200);
    expect((await call('/events', { events: [{ kind: 'cli.after-poll', payload: {} }] })).status).toBe(202);

    const kinds = (stdout: string) => (JSON.parse(stdout) as { kind: string }[]).map((e) => e.kind);
    const plain = await outpost('events', 'ls', '--limit', '200', '--json');
    expect(plain.code, plain.stderr).toBe(0);
    expect(kinds(plain.stdout)).toContain('cli.after-poll');
    expect(kinds(plain.stdout)).not.toContain('audit.pool-runs-adopt');
    const all = await outpost('events', 'ls', '--limit', '200', '--internal', '--json');
    expect(all.code, all.stderr).toBe(0);
    expect(kinds(all.stdout)).toEqual(expect.arrayContaining(['cli.after-poll', 'audit.pool-runs-adopt']));
    const table = await outpost('events', 'ls', '--internal', '--kind', 'audit.*');
    expect(table.stdout).toMatch(/audit\.pool-runs-adopt\s+audit-entry:poolRunsAdopt/);

    const help = await outpost('events', 'ls', '--help');
    expect(help.stdout).toContain('--internal');
    expect(help.stdout).toContain('hidden by default');
  });

  test('creates a webhook showing its URL and secret once, which a signed POST then uses; lists and removes it', {
    timeout: 150_000,
  }, async () => {
    const created = await outpost('webhooks', 'create', 'ci', '--kind', 'ci.finished', '--json');
    expect(created.code, created.stderr).toBe(0);
    const made = JSON.parse(created.stdout) as { url: string; secret: string };
    expect(made.url).toMatch(/\/api\/v1\/hooks\/wh_/);
    const shown = await outpost('webhooks', 'create', 'ci-2', '--kind', 'ci.finished');
    expect(shown.stdout).toContain('openssl dgst -sha256 -hmac');
    expect(shown.stdout).toContain('x-outpost-signature');

    const body = JSON.stringify({ status: 'green' });
    const res = await fetch(made.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-outpost-signature': `sha256=${createHmac('sha256', made.secret).update(body).digest('hex')}`,
      },
      body,
    });
    expect(res.status).toBe(202);
    const events = JSON.parse((await outpost('events', 'ls', '--kind', 'ci.finished', '--json')).stdout) as {
      payload: unknown;
    }[];
    expect(events[0]?.payload).toEqual({ body: { status: 'green' } });

    const ls = await outpost('webhooks', 'ls');
    expect(ls.stdout).toMatch(/ci\s+ci\.finished\s+yes/);
    expect(ls.stdout).not.toContain(made.secret);
    expect((await outpost('webhooks', 'rm', 'ci')).stdout).toContain('deleted webhook ci');
    expect((await outpost('webhooks', 'ls')).stdout).not.toMatch(/^ci\s/m);
  });
});
