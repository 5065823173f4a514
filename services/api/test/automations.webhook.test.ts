import { createHmac, randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import { claim, eventually, SOURCE, useServer } from './helpers.js';

const api = useServer({ automations: { idleMs: 50 } });

const sign = (secret: string, body: string) => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

test('a signed webhook delivery starts the deployment its trigger names, with a parameter templated from the delivery', async () => {
  const flow = `ingest-${randomUUID().slice(0, 6)}`;
  const deployed = await api.owner('PUT', '/deployments', {
    body: {
      flowName: flow,
      name: 'main',
      source: SOURCE,
      entrypoint: 'flows/ingest.js',
      workPool: 'default',
      triggers: [
        {
          name: 'on-upload',
          trigger: { type: 'event', match: 'event.kind == "storage.object-created" && event.payload.bucket == "raw"' },
          parameters: { path: 's3://{{ event.payload.bucket }}/{{ event.payload.key }}', size: '{{ event.payload.size }}' },
        },
      ],
    },
  });
  expect(deployed.status).toBe(200);
  const deploymentId: string = deployed.body.deployment.id;

  const created = await api.owner('POST', '/event-webhooks', {
    body: {
      name: `uploads-${flow}`,
      template: {
        kind: 'storage.object-created',
        payload: {
          bucket: '{{ body.Records[0].s3.bucket.name }}',
          key: '{{ body.Records[0].s3.object.key }}',
          size: '{{ body.Records[0].s3.object.size }}',
        },
      },
    },
  });
  expect(created.status).toBe(201);
  const hook = created.body as { path: string; secret: string };

  const deliver = async (bucket: string, key: string) => {
    const body = JSON.stringify({ Records: [{ s3: { bucket: { name: bucket }, object: { key, size: 1024 } } }] });
    const res = await fetch(`${api.server.url}${hook.path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-outpost-signature': sign(hook.secret, body) },
      body,
    });
    expect(res.status).toBe(202);
  };
  // Only the matching delivery starts a run: another bucket is an event, not a run.
  await deliver('scratch', 'tmp/ignored.csv');
  await deliver('raw', 'in/2026-11-23.csv');

  const run = await eventually(async () => {
    const runs = await api.owner('GET', `/flow-runs?deploymentId=${deploymentId}`);
    return runs.body.items.length > 0 ? runs.body.items : undefined;
  });
  expect(run).toHaveLength(1);
  expect(run[0].parameters).toEqual({ path: 's3://raw/in/2026-11-23.csv', size: 1024 });

  // A worker of the pool receives it with the templated parameters.
  const [claimed] = await claim(api.owner, 'default', 1);
  expect(claimed.flowRun.id).toBe(run[0].id);
  expect(claimed.flowRun.parameters).toEqual({ path: 's3://raw/in/2026-11-23.csv', size: 1024 });

  const automations = await api.owner('GET', `/automations?deploymentId=${deploymentId}`);
  const firings = await api.owner('GET', `/automations/${automations.body.items[0].id}/firings`);
  expect(firings.body.items).toHaveLength(1);
  expect(firings.body.items[0].actions[0]).toMatchObject({ type: 'run-deployment', status: 'SUCCEEDED' });
});
