import type postgres from 'postgres';
import type { Db } from './client.js';

/** ISO-8601 with milliseconds, as every timestamp on the wire. */
export function iso(date: Date): string {
  return date.toISOString();
}

export function isoOrNull(date: Date | null): string | null {
  return date === null ? null : date.toISOString();
}

/** A jsonb parameter; `undefined` and `null` are stored as SQL NULL. */
export function jsonb(db: Db, value: unknown): postgres.Parameter | null {
  return value === undefined || value === null ? null : db.json(value as postgres.JSONValue);
}

/** A text[] parameter (never containing NULL, which postgres.js would send as the string "NULL"). */
export function textArray(db: Db, values: readonly string[]): postgres.ArrayParameter<string[]> {
  return db.array([...values]);
}

/** Keyset cursors are opaque to clients: base64url of a JSON array of the last row's sort key. */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}
