import type { FieldError } from '@outpost/sdk/contracts';
import { DomainError } from '../domain-error.js';
import { compileRe2, instructions, UnsupportedPattern } from './linear-pattern.js';

/**
 * What a JSON Schema from a tenant or a flow (a deployment's parameter schema, an approval's form)
 * may cost, checked when it is saved. Its size bounds how long Ajv takes to compile it; its
 * patterns must compile with RE2 (linear-pattern.ts) and stay small, because each test of a
 * string costs its length × the pattern's program. docs/security.md, "Schemas", lists them.
 */
export const SCHEMA_LIMITS = {
  /** The schema as JSON, in UTF-8 bytes. */
  bytes: 64 * 1024,
  /** Levels of nesting of the schema's objects and arrays (the schema itself is level 1). */
  depth: 32,
  /** Characters of one `pattern` or `patternProperties` key. */
  patternLength: 1024,
  /** RE2 program instructions of one pattern (zod's IPv6 pattern has 711). */
  patternInstructions: 2_000,
  /** RE2 program instructions of all the schema's patterns together. */
  schemaInstructions: 10_000,
} as const;

/** Keywords whose value is an object of schemas, by name. */
const SCHEMA_MAPS = ['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas', 'dependencies'];
/** Keywords whose value is a schema or an array of schemas. */
const SCHEMA_LISTS = ['items', 'prefixItems', 'allOf', 'anyOf', 'oneOf'];
/** Keywords whose value is one schema. */
const SCHEMA_ONES = [
  'additionalProperties',
  'additionalItems',
  'unevaluatedProperties',
  'unevaluatedItems',
  'propertyNames',
  'contains',
  'not',
  'if',
  'then',
  'else',
];

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Visits every schema object in `schema` — the root and each subschema in a keyword that holds
 * schemas — with its path, so `const`, `enum`, `default` and `examples` values are never taken for
 * schemas. Boolean schemas are skipped: they hold no keywords.
 */
export function visitSchemas(schema: unknown, path: string, visit: (node: Json, path: string) => void): void {
  if (!isObject(schema)) return;
  visit(schema, path);
  for (const key of SCHEMA_MAPS) {
    const map = schema[key];
    if (isObject(map)) for (const [name, sub] of Object.entries(map)) visitSchemas(sub, `${path}.${key}.${name}`, visit);
  }
  for (const key of SCHEMA_LISTS) {
    const list = schema[key];
    if (Array.isArray(list)) {
      for (const [i, sub] of list.entries()) visitSchemas(sub, `${path}.${key}.${i}`, visit);
    } else visitSchemas(list, `${path}.${key}`, visit);
  }
  for (const key of SCHEMA_ONES) visitSchemas(schema[key], `${path}.${key}`, visit);
}

/** A copy of `schema` with `change` applied to every schema object in it (children first). */
export function mapSchemas(schema: unknown, change: (node: Json) => Json): unknown {
  if (!isObject(schema)) return schema;
  const copy: Json = { ...schema };
  for (const key of SCHEMA_MAPS) {
    const map = copy[key];
    if (isObject(map)) copy[key] = Object.fromEntries(Object.entries(map).map(([name, sub]) => [name, mapSchemas(sub, change)]));
  }
  for (const key of SCHEMA_LISTS) {
    const list = copy[key];
    if (Array.isArray(list)) copy[key] = list.map((sub) => mapSchemas(sub, change));
    else if (list !== undefined) copy[key] = mapSchemas(list, change);
  }
  for (const key of SCHEMA_ONES) if (copy[key] !== undefined) copy[key] = mapSchemas(copy[key], change);
  return change(copy);
}

/** The path of the first value nested deeper than `limit` levels, or null. */
function tooDeep(value: unknown, path: string, level: number, limit: number): string | null {
  if (value === null || typeof value !== 'object') return null;
  if (level > limit) return path;
  const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
  for (const [key, child] of entries) {
    const found = tooDeep(child, `${path}.${key}`, level + 1, limit);
    if (found !== null) return found;
  }
  return null;
}

function refuse(detail: string, errors: FieldError[]): never {
  throw new DomainError('validation_failed', detail, { errors });
}

/**
 * Throws a 400 naming the limit and the field path when `schema` (found at `field` of the request)
 * is over one of SCHEMA_LIMITS or has a pattern RE2 cannot compile.
 */
export function assertSchemaWithinBudget(schema: Json, field: string): void {
  const bytes = Buffer.byteLength(JSON.stringify(schema));
  if (bytes > SCHEMA_LIMITS.bytes) {
    refuse('the schema is too large', [
      { path: field, message: `the schema is ${bytes} bytes as JSON; the limit is ${SCHEMA_LIMITS.bytes} bytes (64 KiB)` },
    ]);
  }
  const deep = tooDeep(schema, field, 1, SCHEMA_LIMITS.depth);
  if (deep !== null) {
    refuse('the schema is nested too deeply', [
      { path: deep, message: `the schema nests deeper than the limit of ${SCHEMA_LIMITS.depth} levels` },
    ]);
  }
  const errors: FieldError[] = [];
  let total = 0;
  const check = (pattern: string, path: string) => {
    if (pattern.length > SCHEMA_LIMITS.patternLength) {
      errors.push({ path, message: `the pattern is ${pattern.length} characters; the limit is ${SCHEMA_LIMITS.patternLength}` });
      return;
    }
    let size: number;
    try {
      size = instructions(compileRe2(pattern));
    } catch (error) {
      if (!(error instanceof UnsupportedPattern)) throw error;
      errors.push({ path, message: error.message });
      return;
    }
    total += size;
    if (size > SCHEMA_LIMITS.patternInstructions) {
      errors.push({
        path,
        message: `the pattern compiles to ${size} RE2 instructions; the limit is ${SCHEMA_LIMITS.patternInstructions} (shorten counted repetitions like {100})`,
      });
    }
  };
  visitSchemas(schema, field, (node, path) => {
    if (typeof node.pattern === 'string') check(node.pattern, `${path}.pattern`);
    if (isObject(node.patternProperties)) {
      for (const key of Object.keys(node.patternProperties)) check(key, `${path}.patternProperties.${key}`);
    }
  });
  if (errors.length === 0 && total > SCHEMA_LIMITS.schemaInstructions) {
    errors.push({
      path: field,
      message: `the schema's patterns compile to ${total} RE2 instructions in all; the limit is ${SCHEMA_LIMITS.schemaInstructions}`,
    });
  }
  if (errors.length > 0) refuse('the schema has patterns that cannot be checked in linear time within its limits', errors);
}
