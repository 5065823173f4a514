import { ALERT_RULES } from '@outpost/sdk/contracts';
import { beforeAll, expect, test } from 'vitest';
import { useServer } from './helpers.js';

const api = useServer();

beforeAll(async () => {
  await api.owner('POST', '/notification-channels', {
    body: { name: 'ops', kind: 'webhook', url: 'https://hooks.example.com/ops' },
  });
});

test('every built-in rule becomes an automation that notifies the channel, listed as an alert rule', async () => {
  for (const rule of ALERT_RULES) {
    const res = await api.owner('POST', '/alert-rules', { body: { rule, channel: 'ops', minutes: 30 } });
    expect(res.status, `${rule}: ${res.text}`).toBe(201);
    expect(res.body.actions).toEqual([{ type: 'notify', channel: 'ops' }]);
    expect(res.body.name).toBe(`alert.${rule}.ops`);
  }
  const listed = await api.owner('GET', '/alert-rules');
  expect(listed.body.items.map((a: { name: string }) => a.name).sort()).toEqual(ALERT_RULES.map((r) => `alert.${r}.ops`).sort());
  // They are automations like any other.
  const all = await api.owner('GET', '/automations');
  expect(all.body.items).toHaveLength(ALERT_RULES.length);
});

test('a rule scoped to a deployment matches only its runs; a duration SLA is a window closing without a terminal state', async () => {
  const res = await api.owner('POST', '/alert-rules', {
    body: { rule: 'duration-sla', channel: 'ops', deployment: 'etl/nightly', minutes: 45 },
  });
  expect(res.status).toBe(201);
  expect(res.body.name).toBe('alert.duration-sla.etl.nightly.ops');
  expect(res.body.trigger).toEqual({
    type: 'proactive',
    after: 'event.kind == "flow-run.running" && event.payload.deployment == "etl/nightly"',
    expect: 'event.kind in ["flow-run.completed", "flow-run.failed", "flow-run.crashed", "flow-run.cancelled"]',
    groupBy: 'event.resource.id',
    withinSeconds: 2700,
  });
});

test('a rule naming a channel that does not exist, a repeated rule or a misplaced filter is refused with the field', async () => {
  const missing = await api.owner('POST', '/alert-rules', { body: { rule: 'run-failed', channel: 'nope' } });
  expect(missing.status).toBe(400);
  expect(missing.body.errors).toEqual([{ path: 'body.channel', message: 'the workspace has no notification channel "nope"' }]);
  const again = await api.owner('POST', '/alert-rules', { body: { rule: 'run-failed', channel: 'ops' } });
  expect(again.status).toBe(409);
  const misplaced = await api.owner('POST', '/alert-rules', {
    body: { rule: 'worker-offline', channel: 'ops', deployment: 'a/b' },
  });
  expect(misplaced.status).toBe(400);
  expect(misplaced.body.errors[0].path).toBe('body.deployment');
  const sla = await api.owner('POST', '/alert-rules', { body: { rule: 'duration-sla', channel: 'ops' } });
  expect(sla.body.errors[0]).toEqual({ path: 'body.minutes', message: 'a duration SLA needs its bound in minutes' });
});
