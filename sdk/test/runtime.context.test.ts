import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { flow, type RunContext, runContext, task } from '../src/index.js';
import { flowRegistry, type StartMessage } from '../src/runtime/index.js';
import { startMessageFor } from '../src/runtime/runner.js';
import { MemoryWorker, startFor } from './runtime.memory-worker.js';

/** What a flow, its task and runContext() saw, in that order. */
function recordingFlow(name: string) {
  const seen: { ctx?: RunContext; fromFlow?: RunContext; fromTask?: RunContext } = {};
  const peek = task(`${name}-peek`, async () => runContext());
  const def = flow({ name }, async (_params, ctx) => {
    seen.ctx = ctx;
    seen.fromFlow = runContext();
    seen.fromTask = await peek();
  });
  return { def, seen };
}

/** The context fields, without the flow body's signal. */
function fields(ctx: RunContext | undefined) {
  if (!ctx) throw new Error('no context recorded');
  const { signal: _signal, ...rest } = ctx as RunContext & { signal?: AbortSignal };
  return rest;
}

async function runUnderWorker(flowName: string, run: Partial<StartMessage['run']>, worker = new MemoryWorker()) {
  const entry = flowRegistry().get(flowName);
  if (!entry) throw new Error(`flow ${flowName} not registered`);
  const start = startFor(flowName);
  await entry.execute({ ...start, run: { ...start.run, ...run } }, worker);
  return worker;
}

describe('run context', () => {
  it('has documented defaults when a flow is called locally, the same in ctx, runContext() and a task', async () => {
    const { def, seen } = recordingFlow('ctx-local');
    const before = Date.now();
    await def();
    const after = Date.now();
    const ctx = fields(seen.ctx);
    expect(ctx).toMatchObject({
      flowName: 'ctx-local',
      attempt: 1,
      deploymentId: null,
      deploymentName: null,
      scheduleId: null,
      tags: [],
      partitionKey: null,
    });
    expect(ctx.runName).toBe(`ctx-local-${ctx.runId.slice(0, 8)}`);
    expect(ctx.scheduledTime.getTime()).toBeGreaterThanOrEqual(before);
    expect(ctx.scheduledTime.getTime()).toBeLessThanOrEqual(after);
    expect(fields(seen.fromFlow)).toEqual(ctx);
    expect(fields(seen.fromTask)).toEqual(ctx);
  });

  it('cannot be changed, and cannot be read outside a flow', async () => {
    const { def, seen } = recordingFlow('ctx-frozen');
    await def();
    const ctx = seen.fromTask as RunContext;
    expect(Object.isFrozen(ctx)).toBe(true);
    expect(() => {
      (ctx as { attempt: number }).attempt = 2;
    }).toThrow(TypeError);
    expect(() => (ctx.tags as string[]).push('x')).toThrow(TypeError);
    expect(() => runContext()).toThrow(/runContext\(\) was called outside a flow/);
  });

  it('reads the run the worker hands over: deployment, first due time, schedule, tags and attempt', async () => {
    const { seen } = recordingFlow('ctx-worker');
    const deploymentId = randomUUID();
    const scheduleId = randomUUID();
    await runUnderWorker('ctx-worker', {
      attempt: 3,
      deploymentId,
      deploymentName: 'nightly',
      scheduledTime: '2026-03-05T06:00:00.000Z',
      scheduleId,
      tags: ['ml', 'gpu'],
      partitionKey: null,
    });
    expect(fields(seen.fromTask)).toMatchObject({
      attempt: 3,
      deploymentId,
      deploymentName: 'nightly',
      scheduledTime: new Date('2026-03-05T06:00:00.000Z'),
      scheduleId,
      tags: ['ml', 'gpu'],
      partitionKey: null,
    });
    expect(fields(seen.ctx)).toEqual(fields(seen.fromTask));
  });

  it('gives a subflow its own id and name and no deployment, and its parent’s attempt, due time, schedule and tags', async () => {
    let child: RunContext | undefined;
    let parent: RunContext | undefined;
    const inner = flow({ name: 'ctx-child' }, async () => {
      child = runContext();
    });
    flow({ name: 'ctx-parent' }, async () => {
      parent = runContext();
      await inner();
    });
    const scheduleId = randomUUID();
    const worker = await runUnderWorker('ctx-parent', {
      attempt: 2,
      deploymentId: randomUUID(),
      deploymentName: 'daily',
      scheduledTime: '2026-01-01T00:00:00.000Z',
      scheduleId,
      tags: ['t'],
    });
    expect(child?.runId).toBe(worker.childIds[0]);
    expect(child).toMatchObject({
      flowName: 'ctx-child',
      attempt: 2,
      deploymentId: null,
      deploymentName: null,
      scheduledTime: parent?.scheduledTime,
      scheduleId,
      tags: ['t'],
    });
    expect(child?.runId).not.toBe(parent?.runId);
  });

  it('falls back to the local defaults for a worker that sends no context', async () => {
    const { seen } = recordingFlow('ctx-old-worker');
    const before = Date.now();
    await runUnderWorker('ctx-old-worker', {});
    const ctx = fields(seen.fromTask);
    expect(ctx).toMatchObject({ attempt: 1, deploymentName: null, scheduleId: null, tags: [], partitionKey: null });
    expect(ctx.scheduledTime.getTime()).toBeGreaterThanOrEqual(before);
  });

  it('hands a bundle built before run contexts only the fields its strict start message accepts', () => {
    // The start message as SDKs before run contexts checked it.
    const OldStart = z.strictObject({
      t: z.literal('start'),
      run: z.strictObject({
        id: z.string(),
        attempt: z.number(),
        name: z.string(),
        flowName: z.string(),
        deploymentId: z.string().nullable(),
        parameters: z.record(z.string(), z.unknown()),
      }),
      entry: z.string(),
    });
    const start: StartMessage = {
      ...startFor('any'),
      run: { ...startFor('any').run, deploymentName: 'd', scheduledTime: '2026-01-01T00:00:00.000Z', tags: ['x'] },
    };
    expect(OldStart.safeParse(start).success).toBe(false);
    expect(OldStart.safeParse(startMessageFor({}, start)).success).toBe(true);
    expect(startMessageFor({ acceptsRunContext: true }, start)).toBe(start);
  });
});
