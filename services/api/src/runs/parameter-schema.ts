import type { FieldError } from '@outpost/sdk/contracts';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { DomainError } from '../domain-error.js';

const CACHE_SIZE = 200;
const cache = new Map<string, ValidateFunction>();

function compile(schema: Record<string, unknown>): ValidateFunction {
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  // A fresh Ajv per schema: two deployments' schemas may share an `$id`, which one instance refuses.
  // `$schema` is dropped because every parameter schema is read as draft 2020-12 (what zod emits).
  // Formats are left to the flow's own zod validation at run time; ajv would only warn about them.
  const { $schema: _ignored, ...body } = schema;
  const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false, logger: false });
  const validate = ajv.compile(body);
  cache.set(key, validate);
  if (cache.size > CACHE_SIZE) cache.delete(cache.keys().next().value as string);
  return validate;
}

/** The keyword holding an object schema's property names in the order the schema was written. */
export const PROPERTY_ORDER_KEY = 'x-outpost-order';

/**
 * Records, on every object schema with properties, the order its properties were written in.
 * Postgres' jsonb keeps object keys in its own order (shortest first), so a form built from a
 * stored schema would otherwise show the flow's fields scrambled; the annotation is ignored by
 * JSON Schema validators.
 */
export function withPropertyOrder<T>(schema: T): T {
  if (Array.isArray(schema)) return schema.map((item) => withPropertyOrder(item)) as T;
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(schema)) out[key] = withPropertyOrder(value);
  const properties = out.properties;
  if (properties !== null && typeof properties === 'object' && !Array.isArray(properties)) {
    out[PROPERTY_ORDER_KEY] = Object.keys(properties);
  }
  return out as T;
}

/** Throws a 400 naming `field` when the deployment's parameter schema is not a usable JSON Schema. */
export function assertParameterSchema(schema: Record<string, unknown>, field: string): void {
  try {
    compile(schema);
  } catch (error) {
    throw new DomainError('validation_failed', 'the parameter schema is not a valid JSON Schema (draft 2020-12)', {
      errors: [{ path: field, message: (error as Error).message.slice(0, 500) }],
    });
  }
}

function errorPath(prefix: string, error: ErrorObject): string {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const extra = params.missingProperty ?? params.additionalProperty;
  if (extra !== undefined) segments.push(extra);
  return [prefix, ...segments].join('.');
}

/** Throws a 400 with one entry per violation (`body.parameters.n`) when `parameters` do not match `schema`. */
export function assertParameters(schema: Record<string, unknown>, parameters: unknown, prefix: string): void {
  assertMatchesSchema(schema, parameters, prefix, 'the parameters do not match the deployment’s parameter schema');
}

/** Throws a 400 saying `detail`, with one entry per violation under `prefix`, when `value` does not match `schema`. */
export function assertMatchesSchema(schema: Record<string, unknown>, value: unknown, prefix: string, detail: string): void {
  const validate = compile(schema);
  if (validate(value)) return;
  const errors: FieldError[] = (validate.errors ?? []).map((e) => ({
    path: errorPath(prefix, e),
    message: e.message ?? 'invalid',
  }));
  throw new DomainError('validation_failed', detail, { errors });
}
