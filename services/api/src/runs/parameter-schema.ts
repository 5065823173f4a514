import type { FieldError } from '@outpost/sdk/contracts';
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { DomainError } from '../domain-error.js';
import { linearRegExp, PATTERN_WORK_PER_VALIDATION, PatternBudgetExceeded, withPatternBudget } from './linear-pattern.js';
import { assertSchemaWithinBudget, mapSchemas } from './schema-budget.js';

/*
 * Parameter schemas and approval forms come from tenants' flows, so checking a value against one
 * must cost a bounded amount whatever the schema: patterns run on RE2 (linear-pattern.ts), and
 * every evaluation of a subschema is counted. The count matters because a schema's structure alone
 * can be exponential: `{ anyOf: [{ items: { $ref: '#' }, minItems: 2 }, { items: { $ref: '#' } }] }`
 * evaluates a nesting of 20 arrays 2^20 times (67 ms; 64 levels, what a body may nest, is forever).
 */

/** Most evaluations of subschemas one validation may make (≈30 ns each, so at most ~0.1 s). */
export const SCHEMA_STEPS_PER_VALIDATION = 1_000_000;

/** A keyword put on every subschema of the compiled copy, which counts each evaluation. */
const STEP_KEYWORD = 'x-outpost-step';

class SchemaStepsExceeded extends Error {}

let stepsLeft = Number.POSITIVE_INFINITY;

function step(): boolean {
  stepsLeft -= 1;
  if (stepsLeft < 0) throw new SchemaStepsExceeded();
  return true;
}

/** Canonical JSON (object keys sorted), so equal values, as JSON Schema defines equality, are equal strings. */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/**
 * `uniqueItems` in time linear in the array: Ajv's own compares every pair of items unless their
 * type is declared scalar, 2×10^10 deep comparisons for the 200,000 items a 1 MiB body holds.
 */
const uniqueItems: ((schema: boolean, data: unknown[]) => boolean) & { errors?: Partial<ErrorObject>[] } = (schema, data) => {
  if (!schema) return true;
  const seen = new Map<string, number>();
  for (let i = 0; i < data.length; i++) {
    const key = canonical(data[i]);
    const j = seen.get(key);
    if (j !== undefined) {
      uniqueItems.errors = [
        {
          keyword: 'uniqueItems',
          message: `must NOT have duplicate items (items ## ${j} and ${i} are identical)`,
          params: { i, j },
        },
      ];
      return false;
    }
    seen.set(key, i);
  }
  return true;
};

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
  const ajv = new Ajv2020({
    allErrors: true,
    strict: false,
    validateFormats: false,
    logger: false,
    code: { regExp: linearRegExp },
  });
  ajv.removeKeyword('uniqueItems');
  ajv.addKeyword({ keyword: 'uniqueItems', type: 'array', schemaType: 'boolean', errors: true, validate: uniqueItems });
  ajv.addKeyword({ keyword: STEP_KEYWORD, schemaType: 'boolean', errors: false, validate: step });
  const counted = mapSchemas(body, (node) => ({ ...node, [STEP_KEYWORD]: true })) as Record<string, unknown>;
  const validate = ajv.compile(counted);
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

/**
 * Throws a 400 naming `field` (or the path inside it) when `schema` is not a usable JSON Schema:
 * over a limit of SCHEMA_LIMITS, with a pattern RE2 cannot compile, or not valid draft 2020-12.
 */
export function assertParameterSchema(schema: Record<string, unknown>, field: string): void {
  assertUsableSchema(schema, field, 'the parameter schema');
}

/** assertParameterSchema for any schema the control plane will check values against; `what` names it in the detail. */
export function assertUsableSchema(schema: Record<string, unknown>, field: string, what: string): void {
  assertSchemaWithinBudget(schema, field);
  try {
    compile(schema);
  } catch (error) {
    throw new DomainError('validation_failed', `${what} is not a valid JSON Schema (draft 2020-12)`, {
      errors: [{ path: field, message: (error as Error).message.slice(0, 500) }],
    });
  }
}

function errorSegments(error: ErrorObject): string[] {
  const segments = error.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = error.params as { missingProperty?: string; additionalProperty?: string };
  const extra = params.missingProperty ?? params.additionalProperty;
  if (extra !== undefined) segments.push(extra);
  return segments;
}

/** The value at a JSON pointer's segments inside `root`, or undefined when there is none. */
function valueAt(root: unknown, instancePath: string): unknown {
  let value = root;
  for (const raw of instancePath.split('/').slice(1)) {
    if (value === null || typeof value !== 'object') return undefined;
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** Longest rendering of a bad value in a message; longer ones are cut with an ellipsis. */
const SHOWN_VALUE_CHARS = 60;

/** A value as a message quotes it: its JSON, cut to SHOWN_VALUE_CHARS. */
export function showValue(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value);
  return text.length <= SHOWN_VALUE_CHARS ? text : `${text.slice(0, SHOWN_VALUE_CHARS - 1)}…`;
}

/**
 * What is wrong with one value, naming the value itself: `"fsat" is not one of "fast", "slow"`
 * rather than Ajv's `must be equal to one of the allowed values`, so the user sees what they sent
 * and what would do. Keywords about an object's own members (required, additionalProperties) keep
 * Ajv's wording, since their path already names the member.
 */
function errorMessage(error: ErrorObject, root: unknown): string {
  const message = error.message ?? 'invalid';
  if (error.keyword === 'required') return 'is required';
  if (error.keyword === 'additionalProperties') return 'is not allowed here';
  const value = valueAt(root, error.instancePath);
  const shown = showValue(value);
  switch (error.keyword) {
    case 'enum': {
      const allowed = (error.params as { allowedValues?: unknown[] }).allowedValues ?? [];
      return `${shown} is not one of ${allowed.map(showValue).join(', ')}`;
    }
    case 'const':
      return `${shown} is not ${showValue((error.params as { allowedValue?: unknown }).allowedValue)}`;
    case 'type':
      return `${shown} is not of type ${String((error.params as { type?: unknown }).type)}`;
    case 'pattern':
      return `${shown} does not match pattern ${JSON.stringify((error.params as { pattern?: string }).pattern)}`;
    default:
      return value === undefined ? message : `${shown}: ${message}`;
  }
}

/**
 * The names of the parameters a schema declares when it accepts no others, or null when it may take
 * any: the root is an object schema with `properties` and says nothing else about further keys
 * (no additionalProperties, patternProperties, unevaluatedProperties, combinators or references,
 * which may each let more in). zod writes `z.object({...})` this way: it strips unknown keys, so a
 * key the flow does not declare would be dropped without a word when the run starts. A schema that
 * sets additionalProperties itself is left to it (false already refuses them; anything else allows).
 */
export function declaredParameters(schema: Record<string, unknown>): string[] | null {
  const properties = schema.properties;
  if (properties === null || typeof properties !== 'object' || Array.isArray(properties)) return null;
  if (schema.type !== undefined && schema.type !== 'object') return null;
  const open = [
    'additionalProperties',
    'patternProperties',
    'unevaluatedProperties',
    'propertyNames',
    'anyOf',
    'oneOf',
    'allOf',
    'if',
    'not',
    '$ref',
    '$dynamicRef',
    'dependentSchemas',
  ];
  if (open.some((keyword) => schema[keyword] !== undefined)) return null;
  // Stored schemas carry the order the flow wrote them in (jsonb reorders keys).
  const order = schema[PROPERTY_ORDER_KEY];
  const names = Object.keys(properties);
  if (Array.isArray(order) && order.length === names.length && order.every((k) => typeof k === 'string' && k in properties)) {
    return order as string[];
  }
  return names;
}

/**
 * One error per key of `parameters` the schema does not declare (declaredParameters), naming the
 * parameters it does; none when the schema takes any key.
 */
export function unknownParameterErrors(schema: Record<string, unknown>, parameters: unknown, prefix: string): FieldError[] {
  const declared = declaredParameters(schema);
  if (declared === null || parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) return [];
  const known = new Set(declared);
  const names = declared.length === 0 ? 'it takes no parameters' : `its parameters: ${declared.join(', ')}`;
  return Object.keys(parameters)
    .filter((key) => !known.has(key))
    .map((key) => ({ path: `${prefix}.${key}`, message: `not a parameter of this deployment (${names})` }));
}

/**
 * A 400 when `parameters` name a key the deployment's parameter schema does not declare, for
 * parameters a caller typed (the run routes); schedules and automations stored before this rule
 * keep the keys they have.
 */
export function assertKnownParameters(schema: Record<string, unknown>, parameters: unknown, prefix: string): void {
  const errors = unknownParameterErrors(schema, parameters, prefix);
  if (errors.length > 0)
    throw new DomainError('validation_failed', 'the parameters do not match the deployment’s parameter schema', { errors });
}

/** Throws a 400 with one entry per violation (`body.parameters.n`) when `parameters` do not match `schema`. */
export function assertParameters(schema: Record<string, unknown>, parameters: unknown, prefix: string): void {
  assertMatchesSchema(schema, parameters, prefix, 'the parameters do not match the deployment’s parameter schema');
}

/**
 * Throws a 400 saying `detail`, with one entry per violation under `prefix`, when `value` does not
 * match `schema`; also when checking it would pass the validation's budgets (the limit is named),
 * or when the schema was stored before it had to compile with RE2 and does not.
 */
export function assertMatchesSchema(schema: Record<string, unknown>, value: unknown, prefix: string, detail: string): void {
  let validate: ValidateFunction;
  try {
    validate = compile(schema);
  } catch (error) {
    throw new DomainError('validation_failed', `${detail}: the schema cannot be used; save it again`, {
      errors: [{ path: prefix, message: (error as Error).message.slice(0, 500) }],
    });
  }
  let valid: boolean;
  stepsLeft = SCHEMA_STEPS_PER_VALIDATION;
  try {
    valid = withPatternBudget(() => validate(value) as boolean);
  } catch (error) {
    const limit =
      error instanceof PatternBudgetExceeded
        ? `checking the value against the schema's patterns would take more than ${PATTERN_WORK_PER_VALIDATION} steps (characters × pattern instructions), the limit per request`
        : error instanceof SchemaStepsExceeded
          ? `checking the value against the schema would evaluate more than ${SCHEMA_STEPS_PER_VALIDATION} subschemas, the limit per request`
          : null;
    if (limit === null) throw error;
    throw new DomainError('validation_failed', `${detail}: ${limit}`, { errors: [{ path: prefix, message: limit }] });
  } finally {
    stepsLeft = Number.POSITIVE_INFINITY;
  }
  if (valid) return;
  const errors: FieldError[] = (validate.errors ?? []).map((e) => ({
    path: [prefix, ...errorSegments(e)].join('.'),
    message: errorMessage(e, value),
  }));
  throw new DomainError('validation_failed', detail, { errors });
}
