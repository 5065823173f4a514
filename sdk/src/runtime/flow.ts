import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import { ASSET_FLOW_NAME } from '../contracts/limits.js';
import type { FlowContext } from './context.js';
import { activeRunScope, type FlowDefinition, runFlowRun } from './engine.js';
import { executeRun, prepareRun } from './execute.js';
import { lazy } from './lazy.js';
import { type ParamsSchema, parameterJsonSchema } from './params.js';
import { registerFlow } from './registry.js';
import { localReporter } from './reporter-local.js';
import { runSubflow } from './subflow.js';

export type { ParamsSchema } from './params.js';

/** What a flow without a `params` schema receives. */
export type NoParams = Record<string, never>;

export interface FlowOptions<P extends ParamsSchema | undefined> {
  /** The flow's name: unique in the project, referenced by deployments. */
  name: string;
  /** A zod object schema for the parameters; defaults in it apply to every run. @default undefined (no parameters) */
  params?: P;
  /** @default undefined */
  description?: string;
  /**
   * Stop the run after this many seconds: `ctx.signal` fires and the run fails with a
   * `FlowTimeoutError`, even if the body ignores the signal. @default undefined (no limit)
   */
  timeoutSeconds?: number;
  /**
   * Called with the body's return value after it returns, before the final state is reported (so
   * its log lines belong to the run); a hook that throws is logged and does not fail the run. (`result` is `unknown`: typing it from the body would make TypeScript infer the
   * flow's own return type as `unknown`.) @default undefined
   */
  onCompletion?: (result: unknown, ctx: FlowContext) => void | Promise<void>;
  /** Called after the body throws, times out, is cancelled or gets invalid parameters. @default undefined */
  onFailure?: (error: Error, ctx: FlowContext) => void | Promise<void>;
  /**
   * Under a worker, write the body's return value to the worker's result storage when the run
   * completes, so whoever started the run with `runDeployment` can read it (`.result()`). Only a
   * reference to it reaches the control plane. A value with no exact JSON form is not stored (a
   * warning says why). @default true
   */
  persistResult?: boolean;
}

// These ask `P extends undefined`, never `P extends ParamsSchema`: relating a zod object to ZodType
// compares two large classes member by member, which made checking one call of a flow take seconds
// (34,517 types against 4,435 for the hello example, `tsc --extendedDiagnostics`). P's constraint
// already says it is a schema when it is not undefined.
type FlowParams<P extends ParamsSchema | undefined> = P extends undefined ? NoParams : z.output<P>;

/** What a caller passes to run a flow with parameters `P` (defaults make fields optional). */
type FlowInput<P extends ParamsSchema | undefined> = P extends undefined ? NoParams : z.input<P>;

/** Carries a flow's parameter and result types for `runDeployment<typeof myFlow>`; it holds no value at run time. */
declare const flowTypes: unique symbol;

/** Parameters may be left out when every field is optional or has a default. */
type FlowArgs<P extends ParamsSchema | undefined> = P extends undefined
  ? []
  : Record<string, never> extends z.input<P>
    ? [params?: z.input<P>]
    : [params: z.input<P>];

/** A defined flow: call it to run it locally, in-process, with no server. */
/** Where a flow keeps its definition, for hosts that run it with a reporter of their own (`@outpost/sdk/testing`). */
export const FLOW_DEFINITION = Symbol.for('outpost.flowDefinition');

/** The definition behind a flow made by `flow()`; throws for anything else. */
export function flowDefinition(value: unknown): FlowDefinition {
  const def = typeof value === 'function' ? (value as { [FLOW_DEFINITION]?: FlowDefinition })[FLOW_DEFINITION] : undefined;
  if (!def) throw new TypeError('expected a flow made by flow() from @outpost/sdk');
  return def;
}

export type Flow<P extends ParamsSchema | undefined, R> = ((...args: FlowArgs<P>) => Promise<R>) & {
  readonly [flowTypes]?: (input: FlowInput<P>) => R;
  readonly flowName: string;
  readonly description: string | undefined;
  /** The parameters' draft 2020-12 JSON schema (input side: defaults make fields optional), or null. */
  parameterJsonSchema(): Record<string, unknown> | null;
};

/** The parameters a run of flow `F` takes, as a caller writes them; any JSON object when `F` is not a flow. */
export type FlowInputOf<F> = F extends { readonly [flowTypes]?: (input: infer I) => unknown } ? I : Record<string, unknown>;

/** What flow `F` returns; `unknown` when `F` is not a flow. */
export type FlowResultOf<F> = F extends { readonly [flowTypes]?: (input: never) => infer R } ? R : unknown;

// Built on the first call, not when the SDK is imported.
const FlowOptionsSchema = lazy(() =>
  z.object({
    name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'use letters, digits, ".", "_" or "-", starting with a letter or digit'),
    // Duck-typed: a user's own copy of zod is as good as ours.
    params: z
      .custom<ParamsSchema>(
        (value) => typeof (value as { safeParseAsync?: unknown } | null)?.safeParseAsync === 'function',
        'expected a zod schema',
      )
      .optional(),
    description: z.string().optional(),
    timeoutSeconds: z.number().positive().optional(),
    persistResult: z.boolean().optional(),
  }),
);

/**
 * Define a flow. Calling it runs it here and now (logs print to the console); deployed, the worker
 * runs it through the same engine and reports every state, task run and log line. Called inside
 * another flow under the worker, it runs as a subflow: a flow run of its own, linked to its parent.
 * @example
 * export const hello = flow({ name: 'hello', params: z.object({ n: z.number().default(3) }) }, async ({ n }, ctx) => n);
 */
export function flow<P extends ParamsSchema, R>(
  options: FlowOptions<P> & { params: P },
  fn: (params: z.output<P>, ctx: FlowContext) => R,
): Flow<P, Awaited<R>>;
export function flow<R>(
  options: FlowOptions<undefined>,
  fn: (params: NoParams, ctx: FlowContext) => R,
): Flow<undefined, Awaited<R>>;
export function flow<P extends ParamsSchema | undefined, R>(
  options: FlowOptions<P>,
  fn: (params: FlowParams<P>, ctx: FlowContext) => R,
): Flow<P, Awaited<R>> {
  const checked = FlowOptionsSchema().safeParse(options);
  if (!checked.success) {
    const detail = checked.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new TypeError(`invalid flow options: ${detail}`);
  }
  if (options.name === ASSET_FLOW_NAME) {
    throw new TypeError(
      `the flow name '${ASSET_FLOW_NAME}' is reserved for the built-in flow that materialises assets (defined by asset()); give your flow another name`,
    );
  }
  const def: FlowDefinition = {
    name: options.name,
    params: options.params ?? z.object({}),
    timeoutSeconds: options.timeoutSeconds,
    fn: fn as FlowDefinition['fn'],
    onCompletion: options.onCompletion,
    onFailure: options.onFailure,
    persistResult: options.persistResult ?? true,
  };
  const jsonSchema = () => parameterJsonSchema(def.name, options.params);

  registerFlow({
    name: def.name,
    parameterSchema: jsonSchema,
    execute: (start, port) => executeRun(def, start, port),
    prepare: prepareRun,
    acceptsRunContext: true,
  });

  const call = async (...args: unknown[]): Promise<Awaited<R>> => {
    const parent = activeRunScope();
    if (parent) return (await runSubflow(def, args[0], parent)) as Awaited<R>;
    const id = randomUUID();
    const run = {
      id,
      attempt: 1,
      name: `${def.name}-${id.slice(0, 8)}`,
      flowName: def.name,
      deploymentId: null,
      scheduledTime: new Date(),
    };
    const outcome = await runFlowRun(def, args[0], { reporter: localReporter, run });
    if (outcome.kind === 'completed') return outcome.result as Awaited<R>;
    if (outcome.kind === 'failed') throw outcome.thrown;
    throw new Error(`flow '${def.name}' was not run: ${outcome.reason ?? outcome.stateType}`);
  };
  return Object.assign(call as (...args: FlowArgs<P>) => Promise<Awaited<R>>, {
    [FLOW_DEFINITION]: def,
    flowName: def.name,
    description: options.description,
    parameterJsonSchema: jsonSchema,
  });
}
