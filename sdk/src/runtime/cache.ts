import { createHash } from 'node:crypto';

/** A value that has no exact JSON form, so it can be neither part of a default cache key nor a cached result. */
export class NotCacheableError extends Error {
  override readonly name = 'NotCacheableError';
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * JSON with object keys sorted, so equal inputs give equal text whatever order their keys were
 * written in. Only values that survive a JSON round trip unchanged are accepted: a Map, a class
 * instance or NaN would otherwise serialise to something that collides with a different input.
 * Dates are the one exception for keys (`{"$date": iso}`), since they are common task inputs.
 */
export function canonicalJson(value: unknown, options: { dates?: boolean } = {}): string {
  const seen = new Set<object>();
  const walk = (v: unknown, where: string): string => {
    if (v === null) return 'null';
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return JSON.stringify(v);
      case 'number':
        if (!Number.isFinite(v)) throw new NotCacheableError(`${where} is ${v}, which JSON cannot represent`);
        return JSON.stringify(v);
      case 'object':
        break;
      default:
        throw new NotCacheableError(`${where} is a ${typeof v}, which JSON cannot represent`);
    }
    const obj = v as object;
    if (options.dates && obj instanceof Date) return `{"$date":${JSON.stringify(obj.toISOString())}}`;
    if (seen.has(obj)) throw new NotCacheableError(`${where} refers to itself`);
    seen.add(obj);
    try {
      if (Array.isArray(obj)) {
        // `undefined` in an array would become null in JSON and collide with a real null.
        return `[${obj.map((item, i) => (item === undefined ? '{"$undefined":true}' : walk(item, `${where}[${i}]`))).join(',')}]`;
      }
      if (!isPlainObject(obj)) {
        const kind = (obj as { constructor?: { name?: string } }).constructor?.name ?? 'object';
        throw new NotCacheableError(`${where} is a ${kind}, not plain JSON data`);
      }
      const entries = Object.keys(obj)
        .filter((k) => (obj as Record<string, unknown>)[k] !== undefined)
        .sort()
        .map((k) => `${JSON.stringify(k)}:${walk((obj as Record<string, unknown>)[k], `${where}.${k}`)}`);
      return `{${entries.join(',')}}`;
    } finally {
      seen.delete(obj);
    }
  };
  return walk(value, 'the value');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** Identifies the task's code: its name and its function's source text. Computed once per task. */
export function taskSourceDigest(taskName: string, fn: (...args: never[]) => unknown): string {
  return sha256Hex(`${taskName}\u0000${fn.toString()}`);
}

/**
 * The storage key of a call: from the caller's own `cacheKey` when given (namespaced by task name,
 * so two tasks returning different things never share an entry), else from the task's source and
 * the canonical JSON of its arguments. Always 64 hex characters, so it says nothing about the inputs.
 */
export function cacheKeyFor(taskName: string, sourceDigest: string, args: readonly unknown[], custom?: string): string {
  if (custom !== undefined) return sha256Hex(`key\u0000${taskName}\u0000${custom}`);
  return sha256Hex(`args\u0000${sourceDigest}\u0000${canonicalJson(args, { dates: true })}`);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/**
 * A result as stored: `{"value": …}` (or `{}` for undefined). It is checked to be exact JSON first,
 * then written in its own key order, so a cache hit returns an object that prints like the original.
 */
export function encodeResult(value: unknown): Uint8Array {
  if (value === undefined) return encoder.encode('{}');
  canonicalJson(value);
  return encoder.encode(`{"value":${JSON.stringify(value)}}`);
}

/** The stored result, or null when the bytes are not a result this module wrote. */
export function decodeResult(bytes: Uint8Array): { value: unknown } | null {
  try {
    const parsed = JSON.parse(decoder.decode(bytes)) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    return { value: (parsed as { value?: unknown }).value };
  } catch {
    return null;
  }
}
