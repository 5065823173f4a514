import type { z } from 'zod';

/** Passes over one answer at most: each removes every unknown field the schema reported. */
const MAX_PASSES = 32;

/** The container at `path` inside `root`, or undefined where the path no longer leads to one. */
function containerAt(root: unknown, path: readonly PropertyKey[]): Record<PropertyKey, unknown> | undefined {
  let node: unknown = root;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node !== null && typeof node === 'object' && !Array.isArray(node) ? (node as Record<PropertyKey, unknown>) : undefined;
}

/**
 * Parses a server's answer, leaving out fields this client does not know. Contracts are strict, so
 * the server refuses a request carrying a field it does not know and its own tests catch an answer
 * with one; but a newer server adds fields to its answers, and an older CLI or worker must go on
 * reading them. Only unknown fields are forgiven: a missing field, a wrong type or an unknown enum
 * value still fails, with the first pass's issues. The answer is copied before anything is removed.
 */
export function parseAnswer<S extends z.ZodType>(schema: S, json: unknown): ReturnType<S['safeParse']> {
  const first = schema.safeParse(json) as ReturnType<S['safeParse']>;
  if (first.success) return first;
  let value: unknown = json;
  let result = first;
  for (let pass = 0; pass < MAX_PASSES && !result.success; pass++) {
    const unknown = result.error.issues.filter((i) => i.code === 'unrecognized_keys');
    if (unknown.length === 0 || unknown.length !== result.error.issues.length) return first;
    if (value === json) value = structuredClone(json);
    for (const issue of unknown) {
      const target = containerAt(value, issue.path);
      if (!target) return first;
      for (const key of issue.keys) delete target[key];
    }
    result = schema.safeParse(value) as ReturnType<S['safeParse']>;
  }
  return result.success ? result : first;
}
