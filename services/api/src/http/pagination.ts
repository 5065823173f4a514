import type { z } from 'zod';
import { encodeCursor, keysetPage } from '../db/values.js';
import { ApiError } from '../errors.js';

/**
 * The sort key inside an opaque cursor (see `encodeCursor`), checked against `shape` so a forged
 * cursor is a 400 naming the field, never a database error.
 */
export function decodeCursor<T extends z.ZodType>(
  cursor: string | undefined,
  shape: T,
  field = 'query.cursor',
): z.output<T> | null {
  if (cursor === undefined) return null;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parts = undefined;
  }
  const parsed = shape.safeParse(parts);
  if (!parsed.success) {
    throw new ApiError('validation_failed', 'the cursor is not one this API issued', {
      errors: [{ path: field, message: 'invalid cursor' }],
    });
  }
  return parsed.data;
}

/** {@link keysetPage} with the next page's sort key as an opaque cursor. */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  sortKey: (last: T) => readonly (string | number)[],
): { page: T[]; nextCursor: string | null } {
  const { items, next } = keysetPage(rows, limit, sortKey);
  return { page: items, nextCursor: next === null ? null : encodeCursor(next) };
}
