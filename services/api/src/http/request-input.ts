import type { RouteDef } from '@outpost/sdk/contracts';
import type { HonoRequest } from 'hono';
import { ApiError, validationError } from '../errors.js';

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Path parameters through the route's strict schema; failures name `params.<field>`. */
export function parseParams(route: RouteDef, raw: Record<string, string>): Record<string, unknown> {
  if (!route.params) return {};
  const parsed = route.params.safeParse(raw);
  if (!parsed.success) throw validationError('params', parsed.error);
  return parsed.data as Record<string, unknown>;
}

/**
 * The query string through the route's strict schema. A repeated key becomes an array, which a
 * scalar field refuses, rather than silently keeping one of the values. A route without a query
 * schema accepts no query parameters at all.
 */
export function parseQuery(route: RouteDef, url: URL): unknown {
  const raw: Record<string, string | string[]> = {};
  for (const [key, value] of url.searchParams) {
    const seen = raw[key];
    raw[key] = seen === undefined ? value : Array.isArray(seen) ? [...seen, value] : [seen, value];
  }
  if (!route.query) {
    const keys = Object.keys(raw);
    if (keys.length === 0) return undefined;
    throw new ApiError('validation_failed', 'this route takes no query parameters', {
      errors: keys.map((key) => ({ path: `query.${key}`, message: 'unknown field' })),
    });
  }
  const parsed = route.query.safeParse(raw);
  if (!parsed.success) throw validationError('query', parsed.error);
  return parsed.data;
}

/** The JSON body through the route's strict schema: 415 for another media type, 400 for malformed JSON. */
export async function parseBody(route: RouteDef, req: HonoRequest): Promise<unknown> {
  if (!route.body) return undefined;
  const contentType = req.header('content-type');
  const length = req.header('content-length');
  const announced = req.header('transfer-encoding') !== undefined || (length !== undefined && length !== '0');
  let value: unknown;
  if (contentType === undefined && !announced) {
    value = undefined;
  } else {
    if (contentType === undefined || !JSON_TYPE.test(contentType)) {
      throw new ApiError('unsupported_media_type', 'send the body as application/json');
    }
    const text = await req.text();
    if (text.trim() === '') {
      value = undefined;
    } else {
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new ApiError('malformed_json', `the body is not valid JSON: ${(error as Error).message}`);
      }
    }
  }
  const tooDeep = deeperThan(value, MAX_DEPTH);
  if (tooDeep !== null) {
    throw new ApiError('validation_failed', `the body is nested more than ${MAX_DEPTH} levels deep`, {
      errors: [{ path: tooDeep, message: `nested more than ${MAX_DEPTH} levels deep` }],
    });
  }
  const parsed = route.body.safeParse(value);
  if (!parsed.success) throw validationError('body', parsed.error);
  return parsed.data;
}

/**
 * No contract nests anywhere near this deep; free-form JSON fields (parameters, state data,
 * artifact data) could, and validating or storing them recursively would exhaust the stack.
 */
const MAX_DEPTH = 64;

/** The field path where `value` first exceeds `limit` levels, found without recursion; null when it does not. */
function deeperThan(value: unknown, limit: number): string | null {
  const stack: { value: unknown; depth: number; path: string }[] = [{ value, depth: 0, path: 'body' }];
  while (stack.length > 0) {
    const { value: current, depth, path } = stack.pop() as { value: unknown; depth: number; path: string };
    if (current === null || typeof current !== 'object') continue;
    if (depth >= limit) return path;
    for (const [key, inner] of Object.entries(current)) {
      if (inner !== null && typeof inner === 'object') stack.push({ value: inner, depth: depth + 1, path: `${path}.${key}` });
    }
  }
  return null;
}
