import { pluralise } from './format.js';

/**
 * Turns a deployment's parameter schema (JSON Schema 2020-12 as zod's `toJSONSchema` writes it)
 * into form fields, and form input back into validated parameters. Property schemas it cannot
 * express as a simple input become a JSON text field, so every schema stays usable.
 */

export type ScalarKind = 'string' | 'number' | 'integer' | 'boolean' | 'enum';
export type FieldKind = ScalarKind | 'array' | 'json';

export interface FieldModel {
  name: string;
  label: string;
  description: string | null;
  kind: FieldKind;
  required: boolean;
  /** The schema's default, as a JSON value. */
  defaultValue: unknown;
  /** Whether `null` is allowed (`anyOf` with `{ type: 'null' }`). */
  nullable: boolean;
  /** For `enum`, and for arrays of enums: the allowed values. */
  options: readonly (string | number | boolean)[] | null;
  /** For `array`: the kind of its items. */
  itemKind: ScalarKind | null;
  minimum: number | null;
  maximum: number | null;
  exclusiveMinimum: number | null;
  exclusiveMaximum: number | null;
  minLength: number | null;
  maxLength: number | null;
  pattern: string | null;
  minItems: number | null;
  maxItems: number | null;
}

export interface FormModel {
  fields: FieldModel[];
  /** True when the schema is absent or not an object with properties: parameters are edited as raw JSON. */
  raw: boolean;
}

/** What the user typed: text for most inputs, a boolean for checkboxes. Arrays take one item per line. */
export type FormValues = Record<string, string | boolean>;

export type FormResult = { ok: true; parameters: Record<string, unknown> } | { ok: false; errors: Record<string, string> };

/** The key under which a raw-JSON form keeps its text and its error. */
export const RAW_FIELD = '$parameters';

type Schema = Record<string, unknown>;

function isSchema(v: unknown): v is Schema {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Zod writes `z.number().int()` with ±MAX_SAFE_INTEGER bounds; those say nothing to a person. */
function bound(v: unknown): number | null {
  const n = num(v);
  return n === null || Math.abs(n) >= Number.MAX_SAFE_INTEGER ? null : n;
}

function humanise(name: string): string {
  // learningRate → "Learning rate"; acronyms such as GPU keep their case
  const words = name
    .replace(/[_-]+/g, ' ')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .trim()
    .split(/\s+/)
    .map((w, i) => (i > 0 && /^[A-Z][a-z]/.test(w) ? w.toLowerCase() : w));
  const spaced = words.join(' ');
  return spaced.charAt(0).toUpperCase() + spaced.slice(1);
}

/** Splits `anyOf: [X, { type: 'null' }]` (and `type: [X, 'null']`) into X and nullable. */
function unwrapNullable(schema: Schema): { schema: Schema; nullable: boolean } {
  const anyOf = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(anyOf)) {
    const nonNull = anyOf.filter((s) => !(isSchema(s) && s.type === 'null'));
    if (nonNull.length === 1 && anyOf.length === 2 && isSchema(nonNull[0])) {
      const { anyOf: _a, oneOf: _o, ...rest } = schema;
      return { schema: { ...rest, ...nonNull[0] }, nullable: true };
    }
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    if (types.length === 1) return { schema: { ...schema, type: types[0] }, nullable: schema.type.includes('null') };
  }
  return { schema, nullable: false };
}

function enumValues(schema: Schema): (string | number | boolean)[] | null {
  const values = Array.isArray(schema.enum) ? schema.enum : 'const' in schema ? [schema.const] : null;
  if (!values || values.length === 0) return null;
  const ok = values.every((v) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean');
  return ok ? (values as (string | number | boolean)[]) : null;
}

function scalarKind(schema: Schema): ScalarKind | null {
  if (enumValues(schema)) return 'enum';
  switch (schema.type) {
    case 'string':
    case 'number':
    case 'integer':
    case 'boolean':
      return schema.type;
    default:
      return null;
  }
}

function fieldFor(name: string, property: unknown, required: boolean): FieldModel {
  const base: FieldModel = {
    name,
    label: humanise(name),
    description: null,
    kind: 'json',
    required,
    defaultValue: undefined,
    nullable: false,
    options: null,
    itemKind: null,
    minimum: null,
    maximum: null,
    exclusiveMinimum: null,
    exclusiveMaximum: null,
    minLength: null,
    maxLength: null,
    pattern: null,
    minItems: null,
    maxItems: null,
  };
  if (!isSchema(property)) return base;
  const { schema, nullable } = unwrapNullable(property);
  const field: FieldModel = {
    ...base,
    label: typeof schema.title === 'string' ? schema.title : base.label,
    description: typeof schema.description === 'string' ? schema.description : null,
    defaultValue: 'default' in property ? property.default : schema.default,
    nullable,
  };
  const kind = scalarKind(schema);
  if (kind) {
    return {
      ...field,
      kind,
      options: enumValues(schema),
      minimum: bound(schema.minimum),
      maximum: bound(schema.maximum),
      exclusiveMinimum: bound(schema.exclusiveMinimum),
      exclusiveMaximum: bound(schema.exclusiveMaximum),
      minLength: num(schema.minLength),
      maxLength: num(schema.maxLength),
      pattern: typeof schema.pattern === 'string' ? schema.pattern : null,
    };
  }
  if (schema.type === 'array' && isSchema(schema.items)) {
    const items = unwrapNullable(schema.items).schema;
    const itemKind = scalarKind(items);
    if (itemKind) {
      return {
        ...field,
        kind: 'array',
        itemKind,
        options: enumValues(items),
        minimum: bound(items.minimum),
        maximum: bound(items.maximum),
        exclusiveMinimum: bound(items.exclusiveMinimum),
        exclusiveMaximum: bound(items.exclusiveMaximum),
        minLength: num(items.minLength),
        maxLength: num(items.maxLength),
        pattern: typeof items.pattern === 'string' ? items.pattern : null,
        minItems: num(schema.minItems),
        maxItems: num(schema.maxItems),
      };
    }
  }
  return field;
}

/**
 * An object schema's properties in the order the flow wrote them: the API records that order in
 * `x-outpost-order` because the database keeps object keys in an order of its own. Names the
 * annotation does not list (an older deployment) follow in the schema's order.
 */
function orderedProperties(schema: Schema): [string, unknown][] {
  const properties = schema.properties as Record<string, unknown>;
  const order = Array.isArray(schema['x-outpost-order']) ? schema['x-outpost-order'].filter((n) => typeof n === 'string') : [];
  const named = order.filter((name) => Object.hasOwn(properties, name));
  const rest = Object.keys(properties).filter((name) => !named.includes(name));
  return [...new Set([...named, ...rest])].map((name) => [name, properties[name]]);
}

export function buildFormModel(schema: unknown): FormModel {
  if (!isSchema(schema) || schema.type !== 'object' || !isSchema(schema.properties)) return { fields: [], raw: true };
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r) => typeof r === 'string') : []);
  const fields = orderedProperties(schema).map(([name, property]) => fieldFor(name, property, required.has(name)));
  return { fields, raw: false };
}

function toText(field: FieldModel, value: unknown): string | boolean {
  if (field.kind === 'boolean') return value === true;
  if (value === undefined || value === null) return '';
  if (field.kind === 'array') return Array.isArray(value) ? value.map((v) => String(v)).join('\n') : '';
  if (field.kind === 'json') return JSON.stringify(value, null, 2);
  return String(value);
}

/** Starting values: the deployment's default parameters first, then the schema's defaults. */
export function initialValues(model: FormModel, defaults: Record<string, unknown>): FormValues {
  if (model.raw) return { [RAW_FIELD]: JSON.stringify(defaults, null, 2) };
  const values: FormValues = {};
  for (const field of model.fields) {
    const value = field.name in defaults ? defaults[field.name] : field.defaultValue;
    values[field.name] = toText(field, value);
  }
  return values;
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

function parseScalar(field: FieldModel, kind: ScalarKind, text: string): Parsed {
  switch (kind) {
    case 'boolean':
      if (text === 'true' || text === 'false') return { ok: true, value: text === 'true' };
      return { ok: false, error: 'must be true or false' };
    case 'enum': {
      const match = field.options?.find((o) => String(o) === text);
      return match === undefined
        ? { ok: false, error: `must be one of ${field.options?.join(', ')}` }
        : { ok: true, value: match };
    }
    case 'number':
    case 'integer': {
      const n = text.trim() === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(n)) return { ok: false, error: 'must be a number' };
      if (kind === 'integer' && !Number.isInteger(n)) return { ok: false, error: 'must be a whole number' };
      if (field.minimum !== null && n < field.minimum) return { ok: false, error: `must be at least ${field.minimum}` };
      if (field.maximum !== null && n > field.maximum) return { ok: false, error: `must be at most ${field.maximum}` };
      if (field.exclusiveMinimum !== null && n <= field.exclusiveMinimum)
        return { ok: false, error: `must be greater than ${field.exclusiveMinimum}` };
      if (field.exclusiveMaximum !== null && n >= field.exclusiveMaximum)
        return { ok: false, error: `must be less than ${field.exclusiveMaximum}` };
      return { ok: true, value: n };
    }
    case 'string': {
      const length = [...text].length;
      if (field.minLength !== null && length < field.minLength)
        return { ok: false, error: `must have at least ${pluralise(field.minLength, 'character')}` };
      if (field.maxLength !== null && length > field.maxLength)
        return { ok: false, error: `must have at most ${pluralise(field.maxLength, 'character')}` };
      if (field.pattern !== null) {
        let re: RegExp | null = null;
        try {
          re = new RegExp(field.pattern, 'u');
        } catch {
          // a pattern the browser cannot compile is left for the server to judge
        }
        if (re && !re.test(text)) return { ok: false, error: `must match ${field.pattern}` };
      }
      return { ok: true, value: text };
    }
  }
}

function parseField(field: FieldModel, input: string | boolean | undefined): Parsed | 'omit' {
  if (field.kind === 'boolean') return { ok: true, value: input === true };
  const text = typeof input === 'string' ? input : '';
  // Spaces are a legitimate string value; for every other kind they mean nothing was entered.
  const blank = field.kind === 'string' ? text === '' : text.trim() === '';
  if (blank) {
    if (field.required && field.nullable) return { ok: true, value: null };
    return field.required ? { ok: false, error: 'is required' } : 'omit';
  }
  switch (field.kind) {
    case 'json':
      try {
        return { ok: true, value: JSON.parse(text) };
      } catch {
        return { ok: false, error: 'must be valid JSON' };
      }
    case 'array': {
      const lines = text.split('\n').filter((l) => l.trim() !== '');
      const items: unknown[] = [];
      for (const [i, line] of lines.entries()) {
        const item = parseScalar(field, field.itemKind ?? 'string', field.itemKind === 'string' ? line : line.trim());
        if (!item.ok) return { ok: false, error: `item ${i + 1} ${item.error}` };
        items.push(item.value);
      }
      if (field.minItems !== null && items.length < field.minItems)
        return { ok: false, error: `needs at least ${pluralise(field.minItems, 'item')}` };
      if (field.maxItems !== null && items.length > field.maxItems)
        return { ok: false, error: `takes at most ${pluralise(field.maxItems, 'item')}` };
      return { ok: true, value: items };
    }
    default:
      return parseScalar(field, field.kind, text);
  }
}

/** Validates the form in the browser; on success, the parameters to send with the run. */
export function validateForm(model: FormModel, values: FormValues): FormResult {
  if (model.raw) {
    const text = values[RAW_FIELD];
    let parsed: unknown;
    try {
      parsed = JSON.parse(typeof text === 'string' && text.trim() !== '' ? text : '{}');
    } catch {
      return { ok: false, errors: { [RAW_FIELD]: 'Parameters must be valid JSON' } };
    }
    if (!isSchema(parsed)) return { ok: false, errors: { [RAW_FIELD]: 'Parameters must be a JSON object' } };
    return { ok: true, parameters: parsed };
  }
  const errors: Record<string, string> = {};
  const parameters: Record<string, unknown> = {};
  for (const field of model.fields) {
    const result = parseField(field, values[field.name]);
    if (result === 'omit') continue;
    if (result.ok) parameters[field.name] = result.value;
    else errors[field.name] = `${field.label} ${result.error}`;
  }
  return Object.keys(errors).length > 0 ? { ok: false, errors } : { ok: true, parameters };
}
