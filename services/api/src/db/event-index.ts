import { EventKind, INTERNAL_EVENT_KINDS } from '@outpost/sdk/contracts';

/*
 * The predicate of the events' partial index, `events_visible_idx`: the schema declares the index
 * with it, and the ledger's list repeats it word for word so the planner can use the index.
 */

/**
 * Kinds as SQL literals in parentheses, `('audit.a', 'audit.b')`, for `NOT IN`: written out rather
 * than sent as a parameter so the planner matches `events_visible_idx`, whose predicate names the
 * same list, which it cannot prove of a parameter in a generic plan. Each entry is checked against
 * the kind pattern (lower-case words, digits, `_`, `-`, `.`), so no quote reaches the SQL text.
 */
export function kindListSql(kinds: readonly string[]): string {
  return `(${kinds.map((k) => `'${EventKind.parse(k)}'`).join(', ')})`;
}

/** The predicate of `events_visible_idx`: every internal kind left out (migrations 0036 and 0060). */
export const VISIBLE_EVENTS_SQL = `kind NOT IN ${kindListSql(Object.keys(INTERNAL_EVENT_KINDS))}`;
