import { randomUUID } from 'node:crypto';
import { unwrap } from '@outpost/sdk/client';
import { describe, expect, test } from 'vitest';
import { deployFromDir, useTestApi } from './api.support.js';

const flow = `p${randomUUID().slice(0, 8)}`;

const api = useTestApi(async ({ owner }) => {
  // What zod writes for z.object({ n: z.number().int().default(3), mode: z.enum(['fast', 'slow']).default('fast') }).
  await deployFromDir(owner, {
    flowName: flow,
    name: 'daily',
    parameterSchema: {
      type: 'object',
      properties: { n: { type: 'integer', default: 3 }, mode: { type: 'string', enum: ['fast', 'slow'], default: 'fast' } },
    },
  });
  await deployFromDir(owner, { flowName: flow, name: 'free' });
});
const { outpost } = api;

async function runCount(): Promise<number> {
  return unwrap(await api.owner.call('flowRunsList', { query: { flow } })).items.length;
}

describe('outpost run with parameters the flow does not take', () => {
  test('an unknown parameter is one error line naming it and the parameters the flow has, and no run is created', async () => {
    const before = await runCount();
    const result = await outpost('run', `${flow}/daily`, '--param', 'cnt=5');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: parameters.cnt: not a parameter of this deployment (its parameters: n, mode)\n');
    expect(await runCount()).toBe(before);
  });

  test('a mistyped parameter name gets a guess', async () => {
    const result = await outpost('run', `${flow}/daily`, '--param', 'mdoe=fast');
    expect(result.code).toBe(2);
    expect(result.stderr.split('\n')[0]).toBe(
      'error: parameters.mdoe: not a parameter of this deployment (its parameters: n, mode) — did you mean mode?',
    );
  });

  test('a value outside an enum is shown with the allowed values', async () => {
    const result = await outpost('run', `${flow}/daily`, '--param', 'mode=fsat');
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('error: parameters.mode: "fsat" is not one of "fast", "slow"\n');
  });

  test('a deployment without a parameter schema takes any parameter', async () => {
    const result = await outpost('run', `${flow}/free`, '--param', 'cnt=5', '--json');
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).parameters).toEqual({ cnt: 5 });
  });
});

describe('outpost run with a mistyped deployment', () => {
  test('a deployment name one swap away gets "did you mean"', async () => {
    const result = await outpost('run', `${flow}/dialy`);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`error: no deployment is named ${flow}/dialy — did you mean ${flow}/daily?\n`);
  });

  test('a name close to none says where to look', async () => {
    const result = await outpost('run', 'nothing/like-it');
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: no deployment is named nothing/like-it\n  see outpost deployments ls\n');
  });
});

describe('outpost runs get', () => {
  test('shows the parameters given, then the ones the schema defaulted, marked as defaults', async () => {
    const started = await outpost('run', `${flow}/daily`, '--param', 'n=2');
    expect(started.code).toBe(0);
    const shown = await outpost('runs', 'get', started.stdout.trim());
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^parameters:\s+n=2, mode="fast" \(default\)$/m);
    const asJson = JSON.parse((await outpost('runs', 'get', started.stdout.trim(), '--json')).stdout);
    expect(asJson.parameters).toEqual({ n: 2 });
    expect(asJson.defaultedParameters).toEqual({ mode: 'fast' });
  });
});
