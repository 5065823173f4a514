import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, test } from 'vitest';
import { SCHEMA_LIMITS } from '../src/runs/schema-budget.js';
import { type Call, claim, client, createRun, deploy, SOURCE, useServer } from './helpers.js';

let worker: Call;

const api = useServer();

beforeAll(async () => {
  worker = client(api.server, await api.server.createKey('worker'));
});

const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

function deployWith(parameterSchema: Record<string, unknown>) {
  return api.owner('PUT', '/deployments', {
    body: {
      flowName: unique('schema'),
      name: 'd',
      source: SOURCE,
      entrypoint: 'e.js',
      workPool: 'default',
      parameterSchema,
    },
  });
}

const paths = (body: { errors?: { path: string }[] }) => (body.errors ?? []).map((e) => e.path);

describe('parameter schema patterns', () => {
  test('a run whose value would make `^(a+)+$` backtrack gets its validation error naming the parameter', async () => {
    const schema = { type: 'object', properties: { name: { type: 'string', pattern: '^(a+)+$' } } };
    const deployment = await deploy(api.owner, { flowName: unique('redos'), parameterSchema: schema });

    const refused = await api.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: { parameters: { name: `${'a'.repeat(30)}!` } },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('validation_failed');
    expect(refused.body.errors).toEqual([
      { path: 'body.parameters.name', message: `"${'a'.repeat(30)}!" does not match pattern "^(a+)+$"` },
    ]);

    // The pattern still means what it says.
    const run = await createRun(api.owner, deployment.id, { parameters: { name: 'a'.repeat(30) } });
    expect(run.parameters).toEqual({ name: 'a'.repeat(30) });
  });

  test('a backreference or lookaround is refused at deploy with the path of the pattern', async () => {
    const res = await deployWith({
      type: 'object',
      properties: { twice: { type: 'string', pattern: '^(ab)\\1$' } },
      patternProperties: { '^(?!x)': { type: 'number' } },
    });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
    expect(paths(res.body).sort()).toEqual([
      'body.parameterSchema.patternProperties.^(?!x)',
      'body.parameterSchema.properties.twice.pattern',
    ]);
    expect(res.body.errors[0].message).toMatch(/RE2/);
  });

  test('a value under `enum` or `default` shaped like a pattern is not taken for one', async () => {
    const res = await deployWith({ type: 'object', default: { pattern: '(a)\\1' }, enum: [{ pattern: '(?=a)' }] });
    expect(res.status).toBe(200);
  });

  test('an oversize schema is refused naming the byte limit', async () => {
    const res = await deployWith({ type: 'object', description: 'x'.repeat(SCHEMA_LIMITS.bytes) });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.parameterSchema', message: expect.stringContaining('65536 bytes (64 KiB)') }]);
  });

  test('a schema nested deeper than the limit is refused where it passes it', async () => {
    let schema: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < SCHEMA_LIMITS.depth; i++) schema = { not: schema };
    const res = await deployWith(schema);
    expect(res.status).toBe(400);
    expect(res.body.errors[0].path).toBe(`body.parameterSchema${'.not'.repeat(SCHEMA_LIMITS.depth)}`);
    expect(res.body.errors[0].message).toContain(`${SCHEMA_LIMITS.depth} levels`);
  });

  test('a pattern over the length or program-size limit is refused naming the limit', async () => {
    const res = await deployWith({
      type: 'object',
      properties: {
        long: { type: 'string', pattern: 'a'.repeat(SCHEMA_LIMITS.patternLength + 1) },
        big: { type: 'string', pattern: '[ab]{1000}[ab]{1000}[ab]{1000}' },
      },
    });
    expect(res.status).toBe(400);
    const byPath = Object.fromEntries(res.body.errors.map((e: { path: string; message: string }) => [e.path, e.message]));
    expect(byPath['body.parameterSchema.properties.long.pattern']).toContain(`the limit is ${SCHEMA_LIMITS.patternLength}`);
    expect(byPath['body.parameterSchema.properties.big.pattern']).toContain(`the limit is ${SCHEMA_LIMITS.patternInstructions}`);
  });

  test('a schema whose structure is exponential answers with the subschema limit instead of evaluating it', async () => {
    const tree$ = { $ref: '#/$defs/tree' };
    const parameterSchema = {
      type: 'object',
      properties: { tree: tree$ },
      $defs: {
        tree: {
          anyOf: [
            { type: 'array', items: tree$, minItems: 2 },
            { type: 'array', items: tree$ },
          ],
        },
      },
    };
    const deployment = await deploy(api.owner, { flowName: unique('exp'), parameterSchema });
    let tree: unknown[] = [];
    for (let i = 0; i < 60; i++) tree = [tree];
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { tree } } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.parameters', message: expect.stringContaining('1000000 subschemas') }]);
  });

  test('a pattern checked against more text than its budget answers with the limit', async () => {
    const deployment = await deploy(api.owner, {
      flowName: unique('work'),
      parameterSchema: { type: 'object', properties: { s: { type: 'string', pattern: '^[ab]*a[ab]{999}$' } } },
    });
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, {
      body: { parameters: { s: `${'ab'.repeat(2_500)}x` } },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.parameters', message: expect.stringContaining('1000000 steps') }]);
  });

  test('uniqueItems over a large array is checked, and a duplicate is named', async () => {
    const deployment = await deploy(api.owner, {
      flowName: unique('unique'),
      parameterSchema: { type: 'object', properties: { rows: { type: 'array', uniqueItems: true } } },
    });
    const rows: unknown[][] = Array.from({ length: 100_000 }, (_, i) => [i]);
    rows.push([{ b: 1, a: 2 }], [{ a: 2, b: 1 }]);
    const res = await api.owner('POST', `/deployments/${deployment.id}/runs`, { body: { parameters: { rows } } });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([{ path: 'body.parameters.rows', message: expect.stringContaining('100000 and 100001') }]);
  });
});

describe('approval forms', () => {
  async function heldRun() {
    const pool = unique('pool');
    await api.owner('POST', '/work-pools', { body: { name: pool } });
    const d = await deploy(api.owner, { flowName: unique('forms'), workPool: pool });
    const run = await createRun(api.owner, d.id);
    const [claimed] = await claim(worker, pool);
    const token = client(api.server, claimed.token);
    await token('POST', `/flow-runs/${run.id}/set-state`, { body: { transitionId: randomUUID(), state: { type: 'RUNNING' } } });
    return { runId: run.id as string, token };
  }

  test('a form with a lookbehind is refused when the wait begins, with the path of the pattern', async () => {
    const { runId, token } = await heldRun();
    const form = { type: 'object', properties: { tag: { type: 'string', pattern: '(?<=v)1' } } };
    const res = await token('POST', `/flow-runs/${runId}/waits`, {
      body: { key: 'w', spec: { kind: 'approval', title: 'x', form } },
    });
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(['body.spec.form.properties.tag.pattern']);
  });

  test('a decision whose data would make the form backtrack gets its validation error', async () => {
    const { runId, token } = await heldRun();
    const form = { type: 'object', properties: { reason: { type: 'string', pattern: '^(a|aa)+$' } } };
    const begun = await token('POST', `/flow-runs/${runId}/waits`, {
      body: { key: 'w', spec: { kind: 'approval', title: 'x', form } },
    });
    expect(begun.status).toBe(200);
    const res = await api.owner('POST', `/waits/${begun.body.wait.id}/decide`, {
      body: { approved: true, data: { reason: `${'a'.repeat(40)}!` } },
    });
    expect(res.status).toBe(400);
    expect(paths(res.body)).toEqual(['body.data.reason']);
  });
});
