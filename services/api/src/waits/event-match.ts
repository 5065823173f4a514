import type { EventWaitSpec, OutpostEvent } from '@outpost/sdk/contracts';
import type * as z from 'zod';
import { type CelProgram, compileCel } from '../cel/index.js';
import { celFieldError, celValidationError } from '../cel/problems.js';
import type { Db } from '../db/client.js';
import { type EventRow, toEvent } from '../db/events.js';

type EventSpec = z.infer<typeof EventWaitSpec>;

/** What a wait's `match` sees as `run`: the waiting run. */
export interface RunBinding {
  id: string;
  name: string;
  parameters: Record<string, unknown>;
  partitionKey: string | null;
}

const CACHE_SIZE = 1000;
const programs = new Map<string, CelProgram>();

/** The compiled match (cached by source); throws CelCompileError. */
export function compileMatch(source: string): CelProgram {
  const hit = programs.get(source);
  if (hit) return hit;
  const program = compileCel(source, ['event', 'run']);
  programs.set(source, program);
  if (programs.size > CACHE_SIZE) programs.delete(programs.keys().next().value as string);
  return program;
}

/** A 422 naming `body.spec.match` and the expression's line and column when it does not compile. */
export function assertMatchCompiles(source: string | undefined): void {
  if (source === undefined) return;
  try {
    compileMatch(source);
  } catch (error) {
    const problem = celFieldError(error, 'body.spec.match');
    if (!problem) throw error;
    throw celValidationError([problem]);
  }
}

/** Whether an event satisfies an event wait: its kind, its time (from `since` on) and its match. */
export function eventMatches(spec: EventSpec, since: Date, event: OutpostEvent, run: RunBinding): boolean {
  if (event.kind !== spec.event) return false;
  if (new Date(event.receivedAt).getTime() < since.getTime()) return false;
  if (spec.match === undefined) return true;
  // A match that stopped compiling (it compiled when the wait began) matches nothing.
  try {
    return compileMatch(spec.match).matches({ event, run });
  } catch {
    return false;
  }
}

/** Events read per page of a look-back, and pages at most: a look-back reads at most 20,000 events. */
const PAGE = 500;
const MAX_PAGES = 40;

/**
 * The first stored event, oldest first, that satisfies the wait: the events that came before the
 * wait began count, so a flow never misses an event that beat it (the lost wake-up). Reads the
 * workspace's events of the kind since `since` through events_kind_idx, page by page.
 */
export async function lookBack(
  db: Db,
  workspaceId: string,
  spec: EventSpec,
  since: Date,
  run: RunBinding,
): Promise<OutpostEvent | null> {
  let after = '0';
  for (let page = 0; page < MAX_PAGES; page++) {
    const rows = await db<EventRow[]>`
      SELECT * FROM events
      WHERE workspace_id = ${workspaceId} AND kind = ${spec.event} AND seq > ${after}::int8 AND received_at >= ${since}
      ORDER BY seq
      LIMIT ${PAGE}`;
    for (const row of rows) {
      const event = toEvent(row);
      if (eventMatches(spec, since, event, run)) return event;
    }
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return null;
    after = String(last.seq);
  }
  return null;
}
