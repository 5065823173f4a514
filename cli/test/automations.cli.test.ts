import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '@outpost/api/testing';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { outpostOn } from './cli.support.js';

let server: TestServer;
let dir: string;

function outpost(args: string[]) {
  return outpostOn(server, args, { cwd: dir, env: { HOME: dir } });
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

test('automations get names the deployment that declared a trigger, and the one its action runs, by flow/name', async () => {
  const owner = new OutpostClient({ baseUrl: server.url, token: server.ownerKey });
  try {
    const flowName = `owned${randomUUID().slice(0, 8)}`;
    unwrap(
      await owner.call('deploymentsUpsert', {
        body: {
          flowName,
          name: 'nightly',
          source: `dir:///${randomUUID()}`,
          entrypoint: 'flow.mjs',
          workPool: 'default',
          triggers: [{ name: 'on-upload', trigger: { type: 'event', match: 'event.kind == "file.uploaded"' } }],
        },
      }),
    );
    const automation = unwrap(await owner.call('automationsList', { query: {} })).items.find(
      (a) =>
        a.actions.some((action) => action.type === 'run-deployment') && a.name.includes('on-upload') && a.deploymentId !== null,
    );
    expect(automation).toBeDefined();
    const res = await outpost(['automations', 'get', automation!.id]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`  enabled, declared by deployment ${flowName}/nightly\n`);
    expect(res.stdout).toContain(`  action 0: run ${flowName}/nightly\n`);
    expect(res.stdout).not.toContain(automation!.deploymentId!);
  } finally {
    await owner.close();
  }
});

test('a file that does not exist is one usage line naming it, not a stack trace hint', async () => {
  const res = await outpost(['automations', 'create', '-f', 'missing.yaml']);
  expect(res.code).toBe(2);
  expect(res.stderr).toBe('error: cannot read missing.yaml: no such file\n');
});
