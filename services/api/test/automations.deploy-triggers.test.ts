import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { insertEvents } from '../src/events/db/events.js';
import { eventually, SOURCE, useServer } from './helpers.js';

const api = useServer({ automations: { idleMs: 50 } });

function upsert(flowName: string, triggers: unknown[]) {
  return api.owner('PUT', '/deployments', {
    body: { flowName, name: 'main', source: SOURCE, entrypoint: 'flows/f.js', workPool: 'default', triggers },
  });
}

test('a deployment trigger runs its deployment with templated parameters, and a redeploy replaces triggers by name', async () => {
  const flow = `hooked-${randomUUID().slice(0, 6)}`;
  const first = await upsert(flow, [
    {
      name: 'on-file',
      trigger: { type: 'event', match: `event.kind == "${flow}.file"` },
      parameters: { path: '{{ event.payload.path }}' },
    },
    { name: 'gone-later', trigger: { type: 'event', match: 'event.kind == "never.sent"' } },
  ]);
  expect(first.status).toBe(200);
  const deploymentId = first.body.deployment.id;
  const listed = await api.owner('GET', `/automations?deploymentId=${deploymentId}`);
  expect(listed.body.items.map((a: { name: string }) => a.name)).toEqual(['gone-later', 'on-file']);
  const onFile = listed.body.items[1];

  const again = await upsert(flow, [
    {
      name: 'on-file',
      trigger: { type: 'event', match: `event.kind == "${flow}.file"` },
      parameters: { path: '{{ event.payload.path }}' },
    },
  ]);
  expect(again.status).toBe(200);
  const relisted = await api.owner('GET', `/automations?deploymentId=${deploymentId}`);
  // Same automation (same id) for the name kept; the other is gone.
  expect(relisted.body.items.map((a: { id: string }) => a.id)).toEqual([onFile.id]);

  await insertEvents(api.server.sql, [
    {
      workspaceId: api.server.workspaceId,
      kind: `${flow}.file`,
      resource: { kind: 'api-key', id: 'k' },
      payload: { path: '/in/a.csv' },
      source: 'api',
    },
  ]);
  const runs = await eventually(async () => {
    const res = await api.owner('GET', `/flow-runs?deploymentId=${deploymentId}`);
    return res.body.items.length > 0 ? res.body.items : undefined;
  });
  expect(runs.map((r: { parameters: unknown }) => r.parameters)).toEqual([{ path: '/in/a.csv' }]);
});

test('a trigger expression that does not compile fails the deploy with a 422 naming the field and the position, and stores nothing', async () => {
  const flow = `broken-${randomUUID().slice(0, 6)}`;
  const res = await upsert(flow, [
    { trigger: { type: 'event', match: 'event.kind ==' } },
    { trigger: { type: 'event', match: 'event.kind == "x"' }, parameters: { n: '{{ event.payload.n + }}' } },
  ]);
  expect(res.status).toBe(422);
  expect(res.body.code).toBe('unprocessable');
  expect(res.body.errors.map((e: { path: string }) => e.path)).toEqual([
    'body.triggers.0.trigger.match',
    'body.triggers.1.parameters.n',
  ]);
  for (const e of res.body.errors) expect(e.message).toMatch(/\(line 1, column \d+\)$/);
  const deployments = await api.owner('GET', `/deployments?flow=${flow}`);
  expect(deployments.body.items).toEqual([]);
});
