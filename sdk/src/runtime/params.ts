import * as z from 'zod';
import { type ParameterIssue, ParameterValidationError } from './errors.js';

/**
 * A zod schema for a flow's parameters: it must describe an object, since runs carry a JSON object.
 * Bound by zod's core schema type and the one method a run calls, not by z.ZodType: relating a zod
 * object to ZodType compares two large classes member by member, which made type-checking a flow
 * take seconds (57,138 types against 3,680 for a flow with its schema written inline, measured with
 * `tsc --extendedDiagnostics`; test/bench/flow-typecheck.ts).
 */
export type ParamsSchema = z.core.$ZodType<Record<string, unknown>, Record<string, unknown>> & {
  safeParseAsync(data: unknown): Promise<unknown>;
};

function formatPath(path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

export function parameterIssues(error: z.ZodError): ParameterIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

/** Parse `raw` with the flow's schema; a missing value means "no parameters given" and gets the defaults. */
export async function validateParameters(flowName: string, schema: ParamsSchema, raw: unknown): Promise<Record<string, unknown>> {
  const result = await (schema as z.ZodType<Record<string, unknown>>).safeParseAsync(raw ?? {});
  if (!result.success) throw new ParameterValidationError(flowName, parameterIssues(result.error));
  return result.data;
}

/** Lookahead, lookbehind or a backreference: what RE2, the control plane's engine, cannot run. */
const NOT_RE2 = /\(\?<?[=!]|\\[1-9]/;

/**
 * The draft 2020-12 JSON schema of what `schema` accepts as input (defaults make fields optional),
 * as the control plane is sent it. The control plane checks patterns with RE2, which refuses
 * lookaround; zod writes some for its own formats (`z.iso.duration()`, `z.hostname()`,
 * `z.emoji()`), so those keep their `format` and lose the `pattern` — the flow's zod schema still
 * checks them when the run starts. A pattern the flow wrote itself is sent as written.
 */
export function toFlowJsonSchema(schema: z.core.$ZodType): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io: 'input',
    override: ({ jsonSchema }) => {
      if (typeof jsonSchema.format === 'string' && typeof jsonSchema.pattern === 'string' && NOT_RE2.test(jsonSchema.pattern)) {
        delete jsonSchema.pattern;
      }
    },
  }) as Record<string, unknown>;
}

/** The draft 2020-12 JSON schema of what a caller may pass (defaults make fields optional). */
export function parameterJsonSchema(flowName: string, schema: ParamsSchema | undefined): Record<string, unknown> | null {
  if (!schema) return null;
  try {
    return toFlowJsonSchema(schema);
  } catch (error) {
    throw new Error(`flow '${flowName}': its params schema cannot be expressed as JSON Schema: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
