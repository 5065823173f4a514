import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import {
  type FlowContext,
  FlowTimeoutError,
  flow,
  isMainModule,
  log,
  ParameterValidationError,
  task,
  taskContext,
  z,
} from '../src/index.js';
import { flowRegistry } from '../src/runtime/index.js';
import { usePrintedLines } from './support/console.js';

const printed = usePrintedLines();

afterEach(() => {
  vi.useRealTimers();
});

describe('flow()', () => {
  it('runs the body locally with validated parameters, defaults applied, and returns its result', async () => {
    const double = task({ name: 'double-local' }, async (n: number) => n * 2);
    const hello = flow(
      { name: 'hello-local', params: z.object({ n: z.number().int().min(1).default(3) }) },
      async ({ n }, ctx) => {
        log.info(`doubling ${n} numbers`);
        const out: number[] = [];
        for (let i = 1; i <= n; i++) out.push(await double(i));
        expect(ctx.flowName).toBe('hello-local');
        expect(ctx.attempt).toBe(1);
        return out;
      },
    );

    await expect(hello()).resolves.toEqual([2, 4, 6]);
    await expect(hello({ n: 2 })).resolves.toEqual([2, 4]);
    expect(printed).toContain('[hello-local] info doubling 3 numbers');
  });

  it('prints log lines from inside a task with the task key of that call', async () => {
    const shout = task('shout', async (word: string) => {
      log.warning('shouting %s as %s', word, taskContext().taskKey);
      return word.toUpperCase();
    });
    const twice = flow({ name: 'shout-twice' }, async () => [await shout('a'), await shout('b')]);

    await expect(twice()).resolves.toEqual(['A', 'B']);
    expect(printed).toContain('[shout-twice/shout-0] warning shouting a as shout-0');
    expect(printed).toContain('[shout-twice/shout-1] warning shouting b as shout-1');
  });

  it('rejects invalid parameters with every field path before running the body', async () => {
    const body = vi.fn(async () => 'ran');
    const strict = flow(
      {
        name: 'strict-params',
        params: z.object({ n: z.number().int().min(1), items: z.array(z.object({ name: z.string() })) }),
      },
      body,
    );

    const error = await strict({ n: 0, items: [{ name: 'ok' }, { name: 7 as unknown as string }] }).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ParameterValidationError);
    const issues = (error as ParameterValidationError).issues.map((i) => i.path);
    expect(issues).toEqual(['n', 'items[1].name']);
    expect((error as Error).message).toContain("invalid parameters for flow 'strict-params'");
    expect((error as Error).message).toContain('items[1].name');
    expect(body).not.toHaveBeenCalled();
  });

  it('types a call by the schema: defaults make fields optional, and a wrong or unknown field is a type error', () => {
    const typed = flow(
      { name: 'typed-params', params: z.object({ n: z.number().default(3), tag: z.string().optional() }) },
      async ({ n, tag }) => ({ n, tag }),
    );
    const bare = flow({ name: 'typed-no-params' }, async () => 1);
    expectTypeOf(typed).parameters.toEqualTypeOf<[params?: { n?: number | undefined; tag?: string | undefined }]>();
    expectTypeOf(typed).returns.resolves.toEqualTypeOf<{ n: number; tag: string | undefined }>();
    expectTypeOf(bare).parameters.toEqualTypeOf<[]>();
    const calls = () => {
      void typed();
      void typed({ n: 4 });
      // @ts-expect-error n is a number
      void typed({ n: 'four' });
      // @ts-expect-error the flow has no such parameter
      void typed({ n: 4, nope: true });
      // @ts-expect-error this flow takes no parameters
      void bare({ n: 4 });
    };
    expect(typeof calls).toBe('function');
  });

  it('describes its parameters as a draft 2020-12 input schema, and none without a schema', () => {
    const withParams = flow(
      { name: 'schema-flow', params: z.object({ n: z.number().default(3), tag: z.string() }) },
      async () => 1,
    );
    const without = flow({ name: 'schema-less-flow' }, async () => 1);

    const schema = withParams.parameterJsonSchema();
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      properties: { n: { type: 'number', default: 3 }, tag: { type: 'string' } },
      required: ['tag'],
    });
    expect(without.parameterJsonSchema()).toBeNull();
    expect(withParams.flowName).toBe('schema-flow');
  });

  it("leaves out zod's lookaround patterns for its own formats, which the control plane's RE2 cannot run, and keeps the flow's own patterns", () => {
    const f = flow(
      {
        name: 'formats-flow',
        params: z.object({ every: z.iso.duration(), host: z.hostname(), email: z.email(), code: z.string().regex(/^[A-Z]{3}$/) }),
      },
      async () => 1,
    );
    const properties = (f.parameterJsonSchema() as { properties: Record<string, Record<string, unknown>> }).properties;
    expect(properties.every).toEqual({ type: 'string', format: 'duration' });
    expect(properties.host).toEqual({ type: 'string', format: 'hostname' });
    expect(properties.email).toMatchObject({ format: 'email', pattern: expect.stringContaining('@') });
    expect(properties.code).toEqual({ type: 'string', pattern: '^[A-Z]{3}$' });
  });

  it('registers each flow in the global registry and refuses a second flow with the same name', () => {
    flow({ name: 'registered-once', params: z.object({ x: z.string() }) }, async () => 1);

    const entry = flowRegistry().get('registered-once');
    expect(entry?.name).toBe('registered-once');
    expect(entry?.parameterSchema()).toMatchObject({ required: ['x'] });
    expect((globalThis as Record<symbol, unknown>)[Symbol.for('outpost.flows')]).toBe(flowRegistry());
    expect(() => flow({ name: 'registered-once' }, async () => 2)).toThrow(/already defined/);
  });

  it('rejects with a FlowTimeoutError and aborts ctx.signal when the body outlives timeoutSeconds', async () => {
    vi.useFakeTimers();
    let signal: AbortSignal | undefined;
    const stuck = flow({ name: 'stuck-flow', timeoutSeconds: 2 }, (_params, ctx) => {
      signal = ctx.signal;
      return new Promise<never>(() => {});
    });

    const outcome = stuck().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1999);
    expect(signal?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);

    expect(await outcome).toBeInstanceOf(FlowTimeoutError);
    expect(signal?.aborted).toBe(true);
  });

  it('calls onCompletion with the result and onFailure with the error, and a failing hook changes nothing', async () => {
    const completed: unknown[] = [];
    const failed: Error[] = [];
    const ok = flow(
      {
        name: 'hooked-ok',
        onCompletion: (result, ctx: FlowContext) => {
          completed.push(result, ctx.flowName);
          throw new Error('hook bug');
        },
      },
      async () => 42,
    );
    const bad = flow({ name: 'hooked-bad', onFailure: (error) => void failed.push(error) }, async () => {
      throw new TypeError('nope');
    });

    await expect(ok()).resolves.toBe(42);
    await expect(bad()).rejects.toThrow('nope');
    expect(completed).toEqual([42, 'hooked-ok']);
    expect(failed.map((e) => `${e.name}: ${e.message}`)).toEqual(['TypeError: nope']);
    expect(printed.some((line) => line.startsWith('[hooked-ok] error onCompletion hook failed: Error: hook bug'))).toBe(true);
  });

  it('runs a flow called inside another flow as part of the same run', async () => {
    const inner = flow({ name: 'inner-flow', params: z.object({ k: z.number() }) }, async ({ k }, ctx) => ({
      k,
      runId: ctx.runId,
    }));
    const outer = flow({ name: 'outer-flow' }, async (_params, ctx) => ({ inner: await inner({ k: 1 }), runId: ctx.runId }));

    const result = await outer();
    expect(result.inner.k).toBe(1);
    expect(result.inner.runId).toBe(result.runId);
  });

  it('refuses options that cannot work, naming the field', () => {
    expect(() => flow({ name: 'bad name!' }, async () => 1)).toThrow(/invalid flow options: name/);
    expect(() => task({ name: 'neg', retries: -1 }, async () => 1)).toThrow(/invalid task options: retries/);
  });
});

describe('isMainModule()', () => {
  it('is true for the entry script and false for any other module', () => {
    const entry = process.argv[1];
    expect(entry).toBeDefined();
    expect(isMainModule(pathToFileURL(path.resolve(entry as string)).href)).toBe(true);
    expect(isMainModule(import.meta.url)).toBe(false);
    expect(isMainModule('data:text/javascript,1')).toBe(false);
  });
});
