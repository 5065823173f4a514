import { randomUUID } from 'node:crypto';
import { DEFAULT_BASE_JOB_TEMPLATE } from '@outpost/sdk/contracts';
import { describe, expect, test } from 'vitest';
import { validateBaseJobTemplate } from '../src/pools/job-template.js';
import { useServer } from './helpers.js';

const api = useServer();

const poolName = (prefix: string) => `${prefix}-${randomUUID().slice(0, 8)}`;

/** A Job Outpost can run, with a GPU and a node selector as a customer would write. */
function goodTemplate(): Record<string, unknown> {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { labels: { team: 'ml' } },
    spec: {
      backoffLimit: 0,
      ttlSecondsAfterFinished: 300,
      template: {
        spec: {
          restartPolicy: 'Never',
          nodeSelector: { 'cloud.example/gpu': 'a100' },
          containers: [
            {
              name: 'flow',
              image: 'registry.internal/acme/runner:1.4.0',
              command: ['outpost-pod-runner'],
              resources: { limits: { 'nvidia.com/gpu': '1', memory: '8Gi' } },
              env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
            },
          ],
        },
      },
    },
  };
}

describe('Kubernetes work pools', () => {
  test('a Kubernetes pool is created with its base job template, which is stored and returned as sent', async () => {
    const name = poolName('k8s');
    const created = await api.owner('POST', '/work-pools', {
      body: { name, type: 'kubernetes', baseJobTemplate: goodTemplate() },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, type: 'kubernetes', baseJobTemplate: goodTemplate() });

    const got = await api.owner('GET', `/work-pools/${name}`);
    expect(got.body.type).toBe('kubernetes');
    expect(got.body.baseJobTemplate).toEqual(goodTemplate());
    const listed = (await api.owner('GET', '/work-pools')).body.items.find((p: { name: string }) => p.name === name);
    expect(listed.baseJobTemplate).toEqual(goodTemplate());
  });

  test('a Kubernetes pool without a template has a null one, and the documented default template is itself valid', async () => {
    const name = poolName('k8s-default');
    const created = await api.owner('POST', '/work-pools', { body: { name, type: 'kubernetes' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'kubernetes', baseJobTemplate: null });
    expect(validateBaseJobTemplate(DEFAULT_BASE_JOB_TEMPLATE)).toEqual([]);
  });

  test('pools are process pools unless told otherwise, and keep working as before', async () => {
    const name = poolName('proc');
    const created = await api.owner('POST', '/work-pools', { body: { name, concurrencyLimit: 3 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name, type: 'process', baseJobTemplate: null, concurrencyLimit: 3 });
    const paused = await api.owner('PATCH', `/work-pools/${name}`, { body: { paused: true } });
    expect(paused.body).toMatchObject({ paused: true, type: 'process', baseJobTemplate: null });
  });

  test('a template the Kubernetes schemas refuse is a 422 naming each bad field under body.baseJobTemplate, and nothing is saved', async () => {
    const name = poolName('k8s-bad');
    const template = goodTemplate() as { spec: { template: { spec: { containers: Record<string, unknown>[] } } } };
    const container = template.spec.template.spec.containers[0] as Record<string, unknown>;
    delete container.name;
    container.command = 'outpost-pod-runner';
    const res = await api.owner('POST', '/work-pools', { body: { name, type: 'kubernetes', baseJobTemplate: template } });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('unprocessable');
    expect(res.body.errors).toEqual(
      expect.arrayContaining([
        { path: 'body.baseJobTemplate.spec.template.spec.containers[0].name', message: 'is required' },
        { path: 'body.baseJobTemplate.spec.template.spec.containers[0].command', message: 'must be array' },
      ]),
    );
    expect(res.body.errors).toHaveLength(2);
    expect((await api.owner('GET', `/work-pools/${name}`)).status).toBe(404);
  });

  test('a template that would let Kubernetes retry, has no container, or is not a batch/v1 Job is refused with the paths', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { ...goodTemplate(), spec: { ...(goodTemplate().spec as object), backoffLimit: 6 } },
        'body.baseJobTemplate.spec.backoffLimit',
      ],
      [
        { apiVersion: 'batch/v1', kind: 'Job', spec: { template: { spec: { restartPolicy: 'Never', containers: [] } } } },
        'body.baseJobTemplate.spec.template.spec.containers',
      ],
      [{ ...goodTemplate(), kind: 'Deployment' }, 'body.baseJobTemplate.kind'],
    ];
    for (const [template, path] of cases) {
      const res = await api.owner('POST', '/work-pools', {
        body: { name: poolName('k8s-rule'), type: 'kubernetes', baseJobTemplate: template },
      });
      expect(res.status, path).toBe(422);
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(path);
    }
  });

  test('updating a Kubernetes pool validates the new template too, and null returns it to the default', async () => {
    const name = poolName('k8s-upd');
    await api.owner('POST', '/work-pools', { body: { name, type: 'kubernetes', baseJobTemplate: goodTemplate() } });

    const bad = { ...goodTemplate(), spec: { ...(goodTemplate().spec as object), backoffLimit: 2 } };
    const refused = await api.owner('PATCH', `/work-pools/${name}`, { body: { baseJobTemplate: bad } });
    expect(refused.status).toBe(422);
    expect(refused.body.errors).toEqual([
      {
        path: 'body.baseJobTemplate.spec.backoffLimit',
        message: 'must be 0 or absent: Outpost retries a run as a new attempt, so Kubernetes must not retry its Pod',
      },
    ]);
    expect((await api.owner('GET', `/work-pools/${name}`)).body.baseJobTemplate).toEqual(goodTemplate());

    const changed = { ...goodTemplate(), metadata: { labels: { team: 'data' } } };
    const updated = await api.owner('PATCH', `/work-pools/${name}`, { body: { baseJobTemplate: changed } });
    expect(updated.status).toBe(200);
    expect(updated.body.baseJobTemplate).toEqual(changed);

    const reset = await api.owner('PATCH', `/work-pools/${name}`, { body: { baseJobTemplate: null } });
    expect(reset.body).toMatchObject({ type: 'kubernetes', baseJobTemplate: null });
  });

  test('a process pool refuses a base job template on create and on update', async () => {
    const created = await api.owner('POST', '/work-pools', {
      body: { name: poolName('proc-t'), baseJobTemplate: goodTemplate() },
    });
    expect(created.status).toBe(422);
    expect(created.body.errors[0].path).toBe('body.baseJobTemplate');

    const name = poolName('proc-u');
    await api.owner('POST', '/work-pools', { body: { name } });
    const updated = await api.owner('PATCH', `/work-pools/${name}`, { body: { baseJobTemplate: goodTemplate() } });
    expect(updated.status).toBe(422);
    expect(updated.body.errors[0].path).toBe('body.baseJobTemplate');
  });

  test('an unknown pool type is a 400 naming body.type', async () => {
    const res = await api.owner('POST', '/work-pools', { body: { name: poolName('t'), type: 'nomad' } });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe('body.type');
  });
});
