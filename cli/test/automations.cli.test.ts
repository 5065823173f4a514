import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { CLI } from './cli.support.js';

let server: TestServer;
let dir: string;

function outpost(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, OUTPOST_API_URL: server.url, OUTPOST_API_KEY: server.ownerKey },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

beforeAll(async () => {
  server = await startTestServer({ loops: false });
  dir = await mkdtemp(join(tmpdir(), 'outpost-automations-cli-'));
});
afterAll(async () => {
  await server?.close();
  await rm(dir, { recursive: true, force: true });
});

test('an automation file whose expression does not compile is refused with the field, line and column', async () => {
  await writeFile(
    join(dir, 'broken.yaml'),
    [
      'name: broken',
      'trigger:',
      '  type: event',
      '  match: \'event.kind == "a" &&\'',
      'actions:',
      '  - type: pause-pool',
      '    pool: default',
      '',
    ].join('\n'),
  );
  const res = await outpost(['automations', 'create', '-f', 'broken.yaml']);
  expect(res.code).not.toBe(0);
  expect(res.stderr).toMatch(/cannot create the automation in broken\.yaml/);
  expect(res.stderr).toMatch(/body\.trigger\.match: .*\(line 1, column \d+\)/);
});

test('automations are created from YAML, listed, shown in words, disabled and removed', async () => {
  await writeFile(
    join(dir, 'ok.yaml'),
    [
      'name: pause-on-failures',
      'trigger:',
      '  type: event',
      '  match: \'event.kind == "flow-run.failed"\'',
      '  threshold: { count: 3, withinSeconds: 600 }',
      'actions:',
      '  - { type: pause-pool, pool: default }',
      '',
    ].join('\n'),
  );
  const created = await outpost(['automations', 'create', '-f', 'ok.yaml', '--json']);
  expect(created.code).toBe(0);
  const { id } = JSON.parse(created.stdout) as { id: string };
  const ls = await outpost(['automations', 'ls']);
  expect(ls.stdout).toMatch(/pause-on-failures\s+\S+\s+enabled/);
  const got = await outpost(['automations', 'get', id]);
  expect(got.stdout).toContain('trigger: when event.kind == "flow-run.failed", 3 times within 600s');
  expect(got.stdout).toContain('action 0: pause pool default');
  const disabled = await outpost(['automations', 'disable', id]);
  expect(disabled.stdout.trim()).toBe('automation pause-on-failures is disabled');
  const firings = await outpost(['automations', 'firings', id]);
  expect(firings.code).toBe(0);
  expect(firings.stderr).toContain('has not fired');
  expect((await outpost(['automations', 'rm', id])).code).toBe(0);
  expect((await outpost(['automations', 'get', id])).code).not.toBe(0);
});

test('an automation turned off for overrunning its budget says why, and its skipped events are listed', async () => {
  await writeFile(
    join(dir, 'costly.yaml'),
    [
      'name: costly',
      'trigger:',
      '  type: event',
      '  match: \'event.kind == "big"\'',
      'actions:',
      '  - type: pause-pool',
      '    pool: default',
      '',
    ].join('\n'),
  );
  const created = await outpost(['automations', 'create', '-f', 'costly.yaml', '--json']);
  expect(created.code, created.stderr).toBe(0);
  const id = JSON.parse(created.stdout).id as string;
  expect((await outpost(['automations', 'quarantine'])).stderr).toContain('no quarantined events');
  // As the automations loop leaves them after the third overrun (its own suite drives that).
  const reason = 'its trigger ran past its budget 3 times';
  await server.sql`UPDATE automations SET enabled = false, disabled_reason = ${reason} WHERE id = ${id}`;
  const eventId = crypto.randomUUID();
  await server.sql`
    INSERT INTO automation_quarantine (workspace_id, event_id, event_kind, automation_id, reason)
    VALUES (${server.workspaceId}, ${eventId}, 'big', ${id}, 'the trigger ran past its budget: timeout')`;

  const shown = await outpost(['automations', 'get', id]);
  expect(shown.stdout).toContain(`turned off: ${reason}`);
  const listed = await outpost(['automations', 'quarantine']);
  expect(listed.code, listed.stderr).toBe(0);
  expect(listed.stdout).toMatch(new RegExp(`${eventId}\\s+big\\s+${id}\\s+the trigger ran past its budget`));
});
