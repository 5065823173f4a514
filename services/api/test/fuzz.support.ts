import { randomUUID } from 'node:crypto';

/*
 * Malformed requests generated from the OpenAPI document with a seeded PRNG: every case is
 * reproducible from (seed, operation, index). Cases break the body (wrong types, privileged and
 * unknown fields, huge strings, deep nesting, unicode, nulls, extreme numbers, bad ids), the raw
 * payload (broken JSON, other media types), the path parameters and the query string.
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type Schema = Record<string, unknown>;

export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class Random {
  constructor(readonly next: () => number) {}
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)] as T;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** Values a request must never get stored by naming them; searched for in the database afterwards. */
export const SENTINEL = {
  uuid: 'f0220000-dead-4bad-8bad-000000000bad',
  name: 'FuzzInjected',
  hash: 'fuzz-injected-hash',
  time: '1999-01-01T00:00:00.000Z',
  attempt: 777_777,
};

export function privilegedFields(otherWorkspaceId: string): Record<string, Json> {
  return {
    workspaceId: otherWorkspaceId,
    workspace_id: otherWorkspaceId,
    state: { type: 'COMPLETED', name: SENTINEL.name },
    stateType: 'COMPLETED',
    attempt: SENTINEL.attempt,
    role: 'owner',
    id: SENTINEL.uuid,
    userId: SENTINEL.uuid,
    apiKeyId: SENTINEL.uuid,
    createdAt: SENTINEL.time,
    revokedAt: SENTINEL.time,
    expiresAt: SENTINEL.time,
    passwordHash: SENTINEL.hash,
    keyHash: SENTINEL.hash,
    isAdmin: true,
    // Computed, so it is an own property that JSON carries, not the literal's prototype.
    ['__proto__']: { polluted: SENTINEL.name },
    constructor: { prototype: { polluted: SENTINEL.name } },
  };
}

/** A reference resolved in the root: its `$defs`, or the OpenAPI document's `components` it carries. */
function resolve(schema: Schema, root: Schema): Schema {
  const ref = schema.$ref;
  if (typeof ref === 'string' && ref.startsWith('#/$defs/')) {
    const defs = (root.$defs ?? {}) as Record<string, Schema>;
    return defs[ref.slice('#/$defs/'.length)] ?? {};
  }
  if (typeof ref === 'string' && ref.startsWith('#/components/schemas/')) {
    const schemas = ((root.components as Schema | undefined)?.schemas ?? {}) as Record<string, Schema>;
    return schemas[ref.slice('#/components/schemas/'.length)] ?? {};
  }
  return schema;
}

/** A plain value of the schema's shape (not necessarily valid: mutations start from it). */
export function sample(input: Schema, root: Schema, depth = 0): Json {
  const schema = resolve(input, root);
  if (depth > 6) return null;
  if (Array.isArray(schema.enum)) return schema.enum[0] as Json;
  if ('const' in schema) return schema.const as Json;
  const options = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (options?.length) return sample(options.find((o) => o.type !== 'null') ?? (options[0] as Schema), root, depth + 1);
  switch (schema.type) {
    case 'object': {
      const out: Record<string, Json> = {};
      const props = (schema.properties ?? {}) as Record<string, Schema>;
      for (const key of (schema.required ?? []) as string[]) out[key] = sample(props[key] ?? {}, root, depth + 1);
      return out;
    }
    case 'array':
      return Array.from({ length: Number(schema.minItems ?? 0) }, () => sample((schema.items ?? {}) as Schema, root, depth + 1));
    case 'string':
      if (schema.format === 'uuid') return randomUUID();
      if (schema.format === 'date-time') return new Date().toISOString();
      if (schema.format === 'email') return 'fuzz@example.com';
      if (schema.format === 'uri') return 'https://example.com/x';
      return 'f'.repeat(Math.max(1, Number(schema.minLength ?? 1)));
    case 'integer':
    case 'number':
      return Number(schema.minimum ?? 1);
    case 'boolean':
      return true;
    default:
      return null;
  }
}

interface Node {
  /** Where the value sits (empty: the body itself). */
  path: (string | number)[];
  schema: Schema;
}

/** Every node of a sampled value, paired with its schema. */
function nodes(value: Json, schema: Schema, root: Schema, path: (string | number)[] = [], out: Node[] = []): Node[] {
  const s = resolve(schema, root);
  out.push({ path, schema: s });
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    const props = (s.properties ?? {}) as Record<string, Schema>;
    for (const [key, inner] of Object.entries(value)) nodes(inner, props[key] ?? {}, root, [...path, key], out);
  } else if (Array.isArray(value)) {
    for (const [i, inner] of value.entries()) nodes(inner, (s.items ?? {}) as Schema, root, [...path, i], out);
  }
  return out;
}

function setAt(value: Json, path: (string | number)[], next: Json | undefined): Json {
  if (path.length === 0) return next === undefined ? null : next;
  const copy = structuredClone(value) as Record<string | number, Json>;
  let cursor: Record<string | number, Json> = copy;
  for (const key of path.slice(0, -1)) cursor = cursor[key] as Record<string | number, Json>;
  const last = path.at(-1) as string | number;
  if (next === undefined) delete cursor[last];
  else cursor[last] = next;
  return copy as Json;
}

/** A placeholder for nesting too deep to build as a value here; `toJson` writes it out as text. */
function deep(levels: number): Json {
  return `__deep_${levels}__`;
}

/** The body as JSON text, with deep-nesting placeholders expanded (`JSON.stringify` itself would overflow). */
export function toJson(body: Json): string {
  return JSON.stringify(body).replace(/"__deep_(\d+)__"/g, (_, n: string) => {
    const levels = Number(n);
    return `${'{"n":['.repeat(levels)}"bottom"${']}'.repeat(levels)}`;
  });
}

const UNICODE = [
  '\ud800',
  '\udfff',
  '\u0000',
  '\u202e',
  'zero\u200bwidth',
  '🚀🔥',
  'e\u0301\u0301\u0301',
  '\ufeffbom',
  'Ω≈ç√',
  '\u0085next',
];
const BAD_IDS = [
  'not-a-uuid',
  '00000000-0000-0000-0000-00000000000G',
  ' 3c3c3c3c-1111-4222-8333-444444444444',
  '3C3C3C3C-1111-4222-8333-444444444444',
  "' OR 1=1 --",
  '../../etc/passwd',
  '%00',
  '{"$ne":null}',
  '1',
];
const NUMBERS = [-1, -0.5, 0.5, 2 ** 31, 2 ** 53 + 2, 1e308, -1e308, 2 ** 63];

export interface BodyCase {
  body: Json;
  /** A privileged field was added to a strict object: any 2xx is a mass-assignment bug. */
  injected: boolean;
  what: string;
}

/** One malformed variation of a sampled body. */
export function mutateBody(r: Random, base: Json, schema: Schema, root: Schema, privileged: Record<string, Json>): BodyCase {
  const all = nodes(base, schema, root);
  const node = r.pick(all);
  const strict = all.filter((n) => n.schema.type === 'object' && n.schema.additionalProperties === false);
  const kind = r.int(11);
  switch (kind) {
    case 0: {
      const wrong: Json[] = [[[]], { a: 1 }, 'str', 12, true, null];
      return { body: setAt(base, node.path, r.pick(wrong)), injected: false, what: `wrong type at ${node.path.join('.')}` };
    }
    case 1: {
      const target = strict.length ? r.pick(strict) : null;
      if (!target) break;
      const props = Object.keys((target.schema.properties ?? {}) as object);
      const candidates = Object.keys(privileged).filter((k) => !props.includes(k));
      const key = r.pick(candidates);
      const current = (target.path.length ? getAt(base, target.path) : base) as Record<string, Json>;
      const injectedValue = { ...current };
      Object.defineProperty(injectedValue, key, { value: privileged[key], enumerable: true, configurable: true, writable: true });
      return {
        body: setAt(base, target.path, injectedValue),
        injected: true,
        what: `privileged ${key} at ${target.path.join('.')}`,
      };
    }
    case 2: {
      const max = Number(node.schema.maxLength ?? 1000);
      return {
        body: setAt(base, node.path, 'x'.repeat(r.chance(0.5) ? max + 1 : 300_000)),
        injected: false,
        what: 'huge string',
      };
    }
    case 3:
      return { body: setAt(base, node.path, deep(r.pick([50, 500, 5000, 50_000]))), injected: false, what: 'deep nesting' };
    case 4:
      return { body: setAt(base, node.path, r.pick(UNICODE)), injected: false, what: 'unicode' };
    case 5:
      return { body: setAt(base, node.path, null), injected: false, what: 'null' };
    case 6:
      return { body: setAt(base, node.path, r.pick(NUMBERS)), injected: false, what: 'extreme number' };
    case 7:
      return { body: setAt(base, node.path, r.pick(BAD_IDS)), injected: false, what: 'bad id' };
    case 8: {
      const required = strict.flatMap((n) => ((n.schema.required ?? []) as string[]).map((k) => [...n.path, k]));
      if (!required.length) break;
      return { body: setAt(base, r.pick(required), undefined), injected: false, what: 'missing required' };
    }
    case 9:
      return {
        body: setAt(
          base,
          node.path,
          Array.from({ length: r.pick([2, 1001, 20_000]) }, () => 'x'),
        ),
        injected: false,
        what: 'long array',
      };
    default:
      return { body: setAt(base, node.path, { [`unknown_${r.int(1000)}`]: 1 }), injected: false, what: 'unknown object' };
  }
  return { body: setAt(base, node.path, r.pick(UNICODE)), injected: false, what: 'unicode' };
}

function getAt(value: Json, path: (string | number)[]): Json {
  let cursor: Json = value;
  for (const key of path) cursor = (cursor as Record<string | number, Json>)?.[key] ?? null;
  return cursor;
}

/** Raw payloads no JSON schema accepts, each with its content type. */
export const RAW_BODIES: { body: string; type: string }[] = [
  { body: '{"a":', type: 'application/json' },
  { body: "{'a': 1}", type: 'application/json' },
  { body: '{"a": NaN}', type: 'application/json' },
  { body: '{"a":1,}', type: 'application/json' },
  { body: '\ufeff{}', type: 'application/json' },
  { body: '[]', type: 'application/json' },
  { body: '"text"', type: 'application/json' },
  { body: '123', type: 'application/json' },
  { body: 'null', type: 'application/json' },
  { body: '{"a":1e999}', type: 'application/json' },
  { body: '{"__proto__":{"polluted":"FuzzInjected"}}', type: 'application/json' },
  { body: '<xml/>', type: 'application/xml' },
  { body: 'a=1&b=2', type: 'application/x-www-form-urlencoded' },
  { body: '{}', type: 'text/plain' },
  { body: '{}', type: 'application/jsonx' },
  { body: '{}', type: 'multipart/form-data; boundary=x' },
  { body: `{"a":"${'\\u0000'.repeat(100)}"}`, type: 'application/json' },
  { body: `${'['.repeat(20_000)}${']'.repeat(20_000)}`, type: 'application/json' },
  { body: `{"k":"${'x'.repeat(2 * 1024 * 1024)}"}`, type: 'application/json' },
];

export const PATH_GARBAGE = [
  '..',
  '%2e%2e',
  '%00',
  'x'.repeat(2000),
  '%F0%9F%9A%80',
  "'%20OR%201=1",
  '$(id)',
  '3C3C3C3C-1111-4222-8333-444444444444',
  '%2F',
  '%25',
  'a%0Ab',
  '-1',
  '%E2%80%AE',
];

export const QUERY_GARBAGE = [
  'limit=-1',
  'limit=1e999',
  'limit=abc',
  'limit=1&limit=2',
  'cursor=%00',
  `cursor=${'x'.repeat(5000)}`,
  'cursor=eyJ9',
  'state=NOPE',
  'since=yesterday',
  '__proto__=x',
  'constructor[prototype][x]=1',
  'unknown=1',
  'deploymentId=not-a-uuid',
  'window=forever',
  'level=loud',
  `key=${'K'.repeat(500)}`,
  'objectId=%00',
  'actorId=%27',
];
