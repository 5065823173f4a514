import type { EventWaitSpec, OutpostEvent } from '@outpost/sdk/contracts';
import type * as z from 'zod';
import { type CelProgram, compileCel } from '../cel/index.js';
import { celFieldError, celValidationError } from '../cel/problems.js';
import { celSandbox, isBudgetFailure, type SandboxItem } from '../cel/sandbox.js';
import type { Db } from '../db/client.js';
import { type EventRow, toEvent } from '../events/db/events.js';

type EventSpec = z.infer<typeof EventWaitSpec>;

/** What a wait's `match` sees as `run`: the waiting run. */
export interface RunBinding {
  id: string;
  name: string;
  parameters: Record<string, unknown>;
  partitionKey: string | null;
}

/** What a wait's `match` reads. */
const MATCH_VARIABLES = ['event', 'run'] as const;
const CACHE_SIZE = 1000;
const programs = new Map<string, CelProgram>();

/** The compiled match (cached by source); throws CelCompileError. */
export function compileMatch(source: string): CelProgram {
  const hit = programs.get(source);
  if (hit) return hit;
  const program = compileCel(source, MATCH_VARIABLES);
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

/** Whether an event can satisfy an event wait before its match is read: its kind and its time (from `since` on). */
function candidate(spec: EventSpec, since: Date, event: OutpostEvent): boolean {
  return event.kind === spec.event && new Date(event.receivedAt).getTime() >= since.getTime();
}

/** The first of `events` that satisfies the wait, or why the match could not be evaluated. */
export type FirstMatch = { index: number } | { index: -1; overBudget: string };

/**
 * The index of the first event (in the order given) that satisfies an event wait — its kind, its
 * time and its match, evaluated in the CEL sandbox — or -1. A match that runs past its budget on
 * one of them is reported, so the wait can end with the reason instead of being re-evaluated forever.
 * A match that stopped compiling (it compiled when the wait began) matches nothing.
 */
export async function firstMatch(
  workspaceId: string,
  spec: EventSpec,
  since: Date,
  events: readonly OutpostEvent[],
  run: RunBinding,
): Promise<FirstMatch> {
  const candidates = events.map((event, i) => ({ event, i })).filter((c) => candidate(spec, since, c.event));
  if (candidates.length === 0) return { index: -1 };
  const source = spec.match;
  if (source === undefined) return { index: candidates[0]?.i ?? -1 };
  const results = await celSandbox().run(
    workspaceId,
    candidates.map((c) => ({ event: c.event, run })),
    candidates.map((_, i): SandboxItem => ({ kind: 'expression', source, variables: MATCH_VARIABLES, bindings: i })),
  );
  for (const [j, result] of results.entries()) {
    if (isBudgetFailure(result)) return { index: -1, overBudget: result.message };
    if (result.ok && result.value === true) return { index: candidates[j]?.i ?? -1 };
  }
  return { index: -1 };
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
): Promise<{ event: OutpostEvent | null; overBudget?: string }> {
  let after = '0';
  for (let page = 0; page < MAX_PAGES; page++) {
    const rows = await db<EventRow[]>`
      SELECT * FROM events
      WHERE workspace_id = ${workspaceId} AND kind = ${spec.event} AND seq > ${after}::int8 AND received_at >= ${since}
      ORDER BY seq
      LIMIT ${PAGE}`;
    const events = rows.map(toEvent);
    const found = await firstMatch(workspaceId, spec, since, events, run);
    if ('overBudget' in found) return { event: null, overBudget: found.overBudget };
    if (found.index >= 0) return { event: events[found.index] ?? null };
    const last = rows.at(-1);
    if (!last || rows.length < PAGE) return { event: null };
    after = String(last.seq);
  }
  return { event: null };
}

/** The outcome of a wait whose match ran past its budget: it ends, cancelled, saying so. */
export function overBudgetOutcome(message: string): { status: 'CANCELLED'; value: { reason: string } } {
  return { status: 'CANCELLED', value: { reason: `the wait's match ran past its budget: ${message}` } };
}
