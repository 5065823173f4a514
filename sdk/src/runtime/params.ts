import * as z from 'zod';
import { type ParameterIssue, ParameterValidationError } from './errors.js';

/** A zod schema for a flow's parameters: it must describe an object, since runs carry a JSON object. */
export type ParamsSchema = z.ZodType<Record<string, unknown>, Record<string, unknown>>;

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
  const result = await schema.safeParseAsync(raw ?? {});
  if (!result.success) throw new ParameterValidationError(flowName, parameterIssues(result.error));
  return result.data;
}

/** The draft 2020-12 JSON schema of what a caller may pass (defaults make fields optional). */
export function parameterJsonSchema(flowName: string, schema: ParamsSchema | undefined): Record<string, unknown> | null {
  if (!schema) return null;
  try {
    return z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`flow '${flowName}': its params schema cannot be expressed as JSON Schema: ${(error as Error).message}`, {
      cause: error,
    });
  }
}
