import type { z } from 'zod';

/** Passes over one answer at most: each removes every unknown field the schema reported. */
const MAX_PASSES = 32;
/** The longest unknown enum value kept: a value is a word (`ARCHIVED`, `gpu-pool`), not a document. */
const MAX_UNKNOWN_VALUE = 200;

/** A value of an enum this client does not know, as a newer server sent it, kept as it is. */
export interface UnknownValue {
  /** Where in the answer, e.g. `["items", 3, "state", "type"]`. */
  path: (string | number)[];
  value: string;
  /** The values this client knows there. */
  known: readonly string[];
}

/** The container at `path` inside `root`, or undefined where the path no longer leads to one. */
function containerAt(root: unknown, path: readonly PropertyKey[]): Record<PropertyKey, unknown> | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node !== null && typeof node === 'object' ? (node as Record<PropertyKey, unknown>) : undefined;
}

function isPlainContainer(node: Record<PropertyKey, unknown> | undefined): node is Record<PropertyKey, unknown> {
  return node !== undefined && !Array.isArray(node);
}

/**
 * Parses a server's answer, forgiving what a newer server adds to it. Contracts are strict, so the
 * server refuses a request carrying a field or value it does not know and its own tests catch an
 * answer with one; but a newer server adds fields, and values to enums (a state type, an event
 * kind, a pool type), and an older CLI or worker must go on reading its answers:
 * - an unknown field is left out;
 * - an unknown value of an enum (a string where the schema has a set of two or more strings) is
 *   kept as the string it is, and reported to `onUnknown`. Code reading such a field must treat a
 *   value outside the set as unknown: print it as it is, skip what it cannot do (docs/versions.md).
 * Anything else — a missing field, a wrong type, an unknown variant of a tagged union — still fails,
 * with the first pass's issues. The answer is copied before anything is changed.
 */
export function parseAnswer<S extends z.ZodType>(
  schema: S,
  json: unknown,
  onUnknown?: (values: UnknownValue[]) => void,
): ReturnType<S['safeParse']> {
  const first = schema.safeParse(json) as ReturnType<S['safeParse']>;
  if (first.success) return first;
  let value: unknown = json;
  let result = first;
  const unknownValues: UnknownValue[] = [];
  for (let pass = 0; pass < MAX_PASSES && !result.success; pass++) {
    if (value === json) value = structuredClone(json);
    for (const issue of result.error.issues) {
      const parentPath = issue.path.slice(0, -1);
      const key = issue.path[issue.path.length - 1];
      if (issue.code === 'unrecognized_keys') {
        const target = containerAt(value, issue.path);
        if (!isPlainContainer(target)) return first;
        for (const name of issue.keys) delete target[name];
        continue;
      }
      if (issue.code === 'invalid_value' && key !== undefined && issue.values.length >= 2) {
        const known = issue.values;
        const parent = containerAt(value, parentPath);
        const received = parent?.[key];
        const substitute = known[0];
        if (
          parent &&
          typeof received === 'string' &&
          received.length <= MAX_UNKNOWN_VALUE &&
          typeof substitute === 'string' &&
          known.every((k) => typeof k === 'string')
        ) {
          unknownValues.push({
            path: issue.path.map((p) => (typeof p === 'number' ? p : String(p))),
            value: received,
            known: known as string[],
          });
          // Validated as a value it knows, then given back as it came.
          parent[key] = substitute;
          continue;
        }
      }
      return first;
    }
    result = schema.safeParse(value) as ReturnType<S['safeParse']>;
  }
  if (!result.success) return first;
  for (const unknown of unknownValues) {
    const parent = containerAt(result.data, unknown.path.slice(0, -1));
    const key = unknown.path[unknown.path.length - 1];
    if (parent && key !== undefined) parent[key] = unknown.value;
  }
  if (unknownValues.length > 0) onUnknown?.(unknownValues);
  return result;
}
