import type { z } from 'zod';
import { encodeCursor } from '../db/values.js';
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

/**
 * One page of a list read with one row more than `limit`: that extra row is how a next page is
 * known to exist, and the next page's cursor is the sort key of this page's last row.
 */
export function pageOf<T>(
  rows: readonly T[],
  limit: number,
  sortKey: (last: T) => readonly (string | number)[],
): { page: T[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return { page, nextCursor: rows.length > limit && last ? encodeCursor(sortKey(last)) : null };
}
