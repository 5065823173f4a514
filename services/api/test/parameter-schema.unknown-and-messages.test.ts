import { randomUUID } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { createRun, deploy, useServer } from './helpers.js';

const api = useServer();

const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

/** What zod writes for `z.object({ n: z.number().int().default(3), mode: z.enum(['fast', 'slow']).default('fast') })`. */
const ZOD_OBJECT = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  properties: {
    n: { default: 3, type: 'integer' },
    mode: { default: 'fast', type: 'string', enum: ['fast', 'slow'] },
  },
};

describe('run parameters the schema does not declare', () => {
  test('a run naming a parameter the flow does not have is refused with its path and the names the flow has', async () => {
    const deployment = await deploy(api.owner, { flowName: unique('hello'), parameterSchema: ZOD_OBJECT });
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { cnt: 5, n: 2 } } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([
      { path: 'body.parameters.cnt', message: 'not a parameter of this deployment (its parameters: n, mode)' },
    ]);
    const runs = await api.owner('GET', `/flow-runs?deploymentId=${deployment.id}`);
    expect(runs.body.items).toEqual([]);
  });

  test('a deployment without a parameter schema keeps accepting any parameters', async () => {
    const deployment = await deploy(api.owner, { flowName: unique('free') });
    const run = await createRun(api.owner, deployment.id, { parameters: { cnt: 5, anything: [1] } });
    expect(run.parameters).toEqual({ cnt: 5, anything: [1] });
  });

  test('a schema that allows further keys (zod looseObject, a record) still takes them', async () => {
    const loose = await deploy(api.owner, {
      flowName: unique('loose'),
      parameterSchema: { type: 'object', properties: { n: { type: 'number' } }, additionalProperties: {} },
    });
    expect((await createRun(api.owner, loose.id, { parameters: { n: 1, extra: true } })).parameters).toEqual({
      n: 1,
      extra: true,
    });
    const record = await deploy(api.owner, {
      flowName: unique('record'),
      parameterSchema: { type: 'object', propertyNames: { type: 'string' }, additionalProperties: { type: 'number' } },
    });
    expect((await createRun(api.owner, record.id, { parameters: { a: 1 } })).parameters).toEqual({ a: 1 });
  });

  test('a schema with no properties at all says the flow takes none', async () => {
    const deployment = await deploy(api.owner, { flowName: unique('none'), parameterSchema: { type: 'object', properties: {} } });
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { n: 1 } } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'body.parameters.n', message: 'not a parameter of this deployment (it takes no parameters)' },
    ]);
  });
});

describe('parameter validation messages', () => {
  test('a value outside an enum is quoted with the values allowed', async () => {
    const deployment = await deploy(api.owner, { flowName: unique('mode'), parameterSchema: ZOD_OBJECT });
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { mode: 'fsat' } } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.parameters.mode', message: '"fsat" is not one of "fast", "slow"' }]);
  });

  test('a value of the wrong type is quoted with the type wanted, and a missing one is said to be required', async () => {
    const deployment = await deploy(api.owner, {
      flowName: unique('typed'),
      parameterSchema: {
        type: 'object',
        properties: { n: { type: 'integer' }, name: { type: 'string' } },
        required: ['name'],
      },
    });
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { n: 'five' } } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { path: 'body.parameters.name', message: 'is required' },
      { path: 'body.parameters.n', message: '"five" is not of type integer' },
    ]);
  });

  test('a long bad value is cut so the message stays one readable line', async () => {
    const deployment = await deploy(api.owner, {
      flowName: unique('long'),
      parameterSchema: { type: 'object', properties: { s: { type: 'string', maxLength: 3 } } },
    });
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { s: 'x'.repeat(500) } } });
    expect(res.status).toBe(400);
    const [error] = res.body.errors;
    expect(error.path).toBe('body.parameters.s');
    expect(error.message).toBe(`"${'x'.repeat(58)}…: must NOT have more than 3 characters`);
  });
});
