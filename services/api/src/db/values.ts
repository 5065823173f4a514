import { StateType } from '@outpost/sdk/contracts';
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

/**
 * A list of state types as SQL literals in parentheses, `('PENDING', 'RUNNING')`, for `IN`: written
 * out rather than sent as a parameter so the planner can match the partial indexes whose predicates
 * name the same list, which it cannot prove of a parameter in a generic plan. Each entry is checked
 * against the state enum, so nothing but a known state type reaches the SQL text.
 */
export function stateList(db: Db, states: readonly StateType[]): postgres.PendingQuery<postgres.Row[]> {
  return db.unsafe(stateListSql(states));
}

/** The text of {@link stateList}, for SQL that is not built with postgres.js (index predicates). */
export function stateListSql(states: readonly StateType[]): string {
  return `(${states.map((s) => `'${StateType.parse(s)}'`).join(', ')})`;
}

/**
 * One page of a list read with one row more than `limit`: that extra row is how a next page is
 * known to exist, and the next page starts after this page's last row's `key`.
 */
export function keysetPage<T, K>(rows: readonly T[], limit: number, key: (last: T) => K): { items: T[]; next: K | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, next: rows.length > limit && last !== undefined ? key(last) : null };
}

/** Keyset cursors are opaque to clients: base64url of a JSON array of the last row's sort key. */
export function encodeCursor(parts: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}
