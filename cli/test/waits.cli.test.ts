import { randomUUID } from 'node:crypto';
import { OutpostClient, unwrap } from '@outpost/sdk/client';
import type { Wait, WaitCreateRequest } from '@outpost/sdk/contracts';
import { afterAll, describe, expect, test } from 'vitest';
import { deployFromDir, useTestApi } from './api.support.js';

let worker: OutpostClient;
let deploymentId: string;
const clients: OutpostClient[] = [];

/** A running run (claimed over HTTP, no worker process) and a client holding its run token. */
async function runningRun(): Promise<{ id: string; token: OutpostClient }> {
  const { flowRun } = unwrap(await api.owner.call('deploymentsCreateRun', { params: { id: deploymentId }, body: {} }));
  const { runs } = unwrap(
    await worker.call('claim', { params: { pool: 'default' }, body: { workerId: randomUUID(), limit: 10 } }),
  );
  const claimed = runs.find((r) => r.flowRun.id === flowRun.id);
  if (!claimed) throw new Error('the run was not claimed');
  const token = new OutpostClient({ baseUrl: api.server.url, token: claimed.token });
  clients.push(token);
  unwrap(
    await token.call('flowRunsSetState', {
      params: { id: flowRun.id },
      body: { transitionId: randomUUID(), state: { type: 'RUNNING' } },
    }),
  );
  return { id: flowRun.id, token };
}

async function begin(r: { id: string; token: OutpostClient }, body: WaitCreateRequest): Promise<Wait> {
  return unwrap(await r.token.call('flowRunWaitsCreate', { params: { id: r.id }, body })).wait;
}

const api = useTestApi(async ({ server, owner }) => {
  worker = new OutpostClient({ baseUrl: server.url, token: await server.createKey('worker') });
  deploymentId = (await deployFromDir(owner, { flowName: 'gated', name: 'cli' })).id;
});
const { outpost } = api;
afterAll(async () => {
  for (const c of clients) await c.close();
  await worker?.close();
});

describe('outpost waits and tokens', () => {
  test('lists pending approvals, approves one with form data, and shows who decided', async () => {
    const r = await runningRun();
    const wait = await begin(r, {
      key: 'gate',
      spec: {
        kind: 'approval',
        title: 'Scale up',
        form: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
      },
    });
    const listed = await outpost('waits', 'ls', '--kind', 'approval', '--status', 'waiting');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain(wait.id);
    expect(listed.stdout).toContain('approval “Scale up”');

    const bad = await outpost('waits', 'approve', wait.id, '--data', '{"n": "many"}');
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('body.data.n');

    const ok = await outpost('waits', 'approve', wait.id, '--data', '{"n": 4}', '--comment', 'go');
    expect(ok.code).toBe(0);
    expect(ok.stdout.trim()).toBe(`approved approval “Scale up” of run ${wait.flowRunName}`);
    const after = await outpost('waits', 'ls', '--run', r.id);
    expect(after.stdout).toMatch(/RESOLVED.*approved by API key/);
  });

  test('rejects an approval, and completes a token with a JSON value', async () => {
    const r = await runningRun();
    const approval = await begin(r, { key: 'a', spec: { kind: 'approval', title: 'Drop' } });
    const rejected = await outpost('waits', 'reject', approval.id, '--json');
    expect((JSON.parse(rejected.stdout) as Wait).value).toMatchObject({ approved: false });

    const name = `job-${randomUUID().slice(0, 8)}`;
    const tokenWait = await begin(r, { key: 't', spec: { kind: 'token', token: name } });
    const done = await outpost('tokens', 'complete', name, '--value', '{"rows": 12}');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`wait t is RESOLVED`);
    const stored = unwrap(await api.owner.call('waitsGet', { params: { id: tokenWait.id }, query: {} })).wait;
    expect(stored.value).toEqual({ rows: 12 });

    const early = await outpost('tokens', 'complete', `${name}-later`);
    expect(early.code).not.toBe(0);
    expect(early.stderr).toContain(`no wait asks for the token "${name}-later"`);
  });

  test('refuses a status it does not know, in one line', async () => {
    const res = await outpost('waits', 'ls', '--status', 'sleeping');
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('--status must be one of WAITING, RESOLVED, TIMED_OUT, CANCELLED');
  });
});
