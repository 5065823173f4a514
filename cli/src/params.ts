import { UsageError } from './errors.js';

/**
 * Parses one `--param key=value`. The value is JSON when it parses as JSON (`n=3` is the number 3,
 * `ok=true` a boolean, `xs=[1,2]` an array) and a plain string otherwise (`name=alice`), so the
 * common case needs no quoting; `name='"3"'` forces the string "3".
 */
export function parseParam(assignment: string): [string, unknown] {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UsageError(`--param must look like key=value, got "${assignment}"`);
  const key = assignment.slice(0, eq).trim();
  if (!key) throw new UsageError(`--param must look like key=value, got "${assignment}"`);
  const raw = assignment.slice(eq + 1);
  return [key, coerceValue(raw)];
}

export function coerceValue(raw: string): unknown {
  if (raw.trim() === '') return raw;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

/** Merges `--params-json` (first) and each `--param` (later ones win) into one parameters object. */
export function buildParameters(paramsJson: string | undefined, assignments: readonly string[]): Record<string, unknown> {
  let base: Record<string, unknown> = {};
  if (paramsJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(paramsJson);
    } catch (error) {
      throw new UsageError('--params-json is not valid JSON', [(error as Error).message]);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new UsageError('--params-json must be a JSON object, e.g. \'{"n": 3}\'');
    }
    base = { ...(parsed as Record<string, unknown>) };
  }
  for (const assignment of assignments) {
    const [key, value] = parseParam(assignment);
    base[key] = value;
  }
  return base;
}
