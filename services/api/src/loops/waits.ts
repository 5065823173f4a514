import type { EventWaitSpec, OutpostEvent, RunWaitValue } from '@outpost/sdk/contracts';
import type * as z from 'zod';
import type { Db, Sql } from '../db/client.js';
import { lockLedgerCursor, readLedger, saveLedgerCursor, toEvent } from '../events/db/events.js';
import type { Logger } from '../logger.js';
import type { RunNotifier } from '../runs/run-notifier.js';
import { eventsSince, runBinding, runWaitOutcome, TERMINAL_RUN_STATES } from '../waits/create-wait.js';
import type { WaitOutcome } from '../waits/db/waits.js';
import { firstMatch, lookBack, overBudgetOutcome, type RunBinding } from '../waits/event-match.js';
import { dueWaitOutcomes, resolveWaits } from '../waits/resolve.js';
import { ElectedRounds } from './elected-loop.js';

export interface WaitsLoopOptions {
  /** Delay after a round that found work. @default 100 */
  busyMs?: number;
  /** Delay after an idle round: how late an until wait or a timeout may be, at most. @default 1000 */
  idleMs?: number;
  /** Events read from the ledger per round. @default 500 */
  batchSize?: number;
}

const CURSOR_NAME = 'waits';

interface WaitingEventWait {
  id: string;
  workspace_id: string;
  kind: string;
  spec: z.infer<typeof EventWaitSpec>;
  target_run_id: string | null;
  run_id: string;
  run_name: string;
  parameters: Record<string, unknown>;
  partition_key: string | null;
  run_created_at: Date;
}

/**
 * Resolves waits on the control plane's side, one replica at a time:
 * - until waits whose time came, and waits whose timeout came (TIMED_OUT);
 * - event waits, by reading the ledger's events as they commit, after a stored cursor
 *   (`readLedger`): each round matches the events it reads against the WAITING event
 *   waits of their workspace and kind, resolves the matched waits (resuming runs suspended on
 *   them) and advances the cursor, all in one transaction, so a crash redoes the round and an
 *   event is never skipped;
 * - event waits not yet looked back over: the look-back their creation did ran in a transaction
 *   that could not see an event committed at the same moment, which this loop's cursor may also have
 *   passed before the wait was visible. Looking back again once the wait is committed closes that
 *   gap: any event is either visible to this look-back or read later through the cursor.
 */
export class WaitsLoop extends ElectedRounds {
  readonly #batchSize: number;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    private readonly notifier: RunNotifier | null,
    options: WaitsLoopOptions = {},
  ) {
    super(databaseUrl, logger, { name: 'waits', busyMs: options.busyMs ?? 100, idleMs: options.idleMs ?? 1_000 });
    this.#batchSize = options.batchSize ?? 500;
  }

  protected round(): Promise<number> {
    return this.tick();
  }

  /** A committed event may resolve an event wait: look at once rather than at the next idle round. */
  protected override doorbell(wake: () => void): (() => void) | null | undefined {
    return this.notifier?.onLedgerEvents(wake);
  }

  /** One round; returns how many waits it ended plus events it read. */
  async tick(): Promise<number> {
    let found = 0;
    found += await this.#timers();
    found += await this.#lookBacks();
    found += await this.#ledger();
    return found;
  }

  async #timers(): Promise<number> {
    const outcomes = await dueWaitOutcomes(this.sql, this.#batchSize);
    if (outcomes.length === 0) return 0;
    const ended = await this.sql.begin((tx) => resolveWaits(tx, outcomes));
    if (ended.length > 0) this.logger.info({ waits: ended.length }, 'waits reached their time');
    return ended.length;
  }

  async #lookBacks(): Promise<number> {
    const waits = await this.sql<WaitingEventWait[]>`
      SELECT w.id, w.workspace_id, w.kind, w.spec, w.target_run_id, r.id AS run_id, r.name AS run_name, r.parameters,
             r.partition_key, r.created_at AS run_created_at
      FROM waits w JOIN flow_runs r ON r.id = w.flow_run_id
      WHERE NOT w.looked_back
      ORDER BY w.created_at
      LIMIT 50`;
    for (const wait of waits) {
      const run = bindingOf(wait);
      await this.sql.begin(async (tx) => {
        if (wait.kind === 'run' && wait.target_run_id !== null) {
          // The run may have ended while the wait was being created, after this loop's cursor passed its event.
          const outcome = await runWaitOutcome(tx, wait.workspace_id, wait.target_run_id);
          if (outcome) await resolveWaits(tx, [{ id: wait.id, outcome }]);
        } else {
          const found = await lookBack(tx, wait.workspace_id, wait.spec, eventsSince(wait.spec, wait.run_created_at), run);
          if (found.overBudget !== undefined)
            await resolveWaits(tx, [{ id: wait.id, outcome: overBudgetOutcome(found.overBudget) }]);
          else if (found.event) await resolveWaits(tx, [{ id: wait.id, outcome: { status: 'RESOLVED', value: found.event } }]);
        }
        await tx`UPDATE waits SET looked_back = true WHERE id = ${wait.id}`;
      });
    }
    return waits.length;
  }

  async #ledger(): Promise<number> {
    return this.sql.begin(async (tx) => {
      await tx`INSERT INTO wait_event_cursor (name, txid, seq) VALUES (${CURSOR_NAME}, '0'::xid8, 0) ON CONFLICT (name) DO NOTHING`;
      const cursor = await lockLedgerCursor(tx, 'wait_event_cursor', CURSOR_NAME);
      const { rows, next } = await readLedger(tx, cursor, this.#batchSize);
      if (rows.length > 0) {
        const events = rows.map(toEvent);
        const outcomes = [...(await this.#match(tx, rows, events)), ...(await this.#runsEnded(tx, rows, events))];
        if (outcomes.length > 0) {
          const ended = await resolveWaits(tx, outcomes);
          this.logger.info({ waits: ended.length }, 'events resolved waits');
        }
      }
      await saveLedgerCursor(tx, 'wait_event_cursor', CURSOR_NAME, next);
      return rows.length;
    });
  }

  /** Run waits whose run reached a terminal state in the batch: resolved with the run and that state. */
  async #runsEnded(
    tx: Db,
    rows: readonly { workspace_id: string; kind: string }[],
    events: readonly OutpostEvent[],
  ): Promise<{ id: string; outcome: WaitOutcome }[]> {
    const ended = new Map<string, OutpostEvent>();
    rows.forEach((row, i) => {
      const event = events[i] as OutpostEvent;
      const at = `${row.workspace_id}\u0000${event.resource.id}`;
      if (RUN_ENDED_KINDS.has(row.kind) && !ended.has(at)) ended.set(at, event);
    });
    if (ended.size === 0) return [];
    const waits = await tx<{ id: string; workspace_id: string; target_run_id: string }[]>`
      SELECT id, workspace_id, target_run_id FROM waits
      WHERE target_run_id = ANY(${tx.array([...ended.values()].map((e) => e.resource.id))}::uuid[]) AND status = 'WAITING'`;
    return waits.flatMap((wait) => {
      const event = ended.get(`${wait.workspace_id}\u0000${wait.target_run_id}`);
      if (!event) return [];
      const state = (event.payload as { state?: { type?: string; name?: string; message?: string | null } }).state ?? {};
      const value: RunWaitValue = {
        id: wait.target_run_id,
        name: event.resource.name ?? '',
        state: {
          type: state.type ?? event.kind.slice('flow-run.'.length).toUpperCase(),
          name: state.name ?? '',
          message: state.message ?? null,
        },
      };
      return [{ id: wait.id, outcome: { status: 'RESOLVED' as const, value } }];
    });
  }

  /** The first event of the batch, in commit order, that satisfies each WAITING event wait of its workspace and kind. */
  async #match(
    tx: Db,
    rows: readonly { workspace_id: string; kind: string }[],
    events: readonly OutpostEvent[],
  ): Promise<{ id: string; outcome: WaitOutcome }[]> {
    const pairs = [...new Set(rows.map((r) => `${r.workspace_id}\u0000${r.kind}`))].map((p) => p.split('\u0000'));
    const waits = await tx<WaitingEventWait[]>`
      SELECT w.id, w.workspace_id, w.spec, r.id AS run_id, r.name AS run_name, r.parameters, r.partition_key,
             r.created_at AS run_created_at
      FROM waits w JOIN flow_runs r ON r.id = w.flow_run_id
      JOIN unnest(${tx.array(pairs.map((p) => p[0] as string))}::uuid[], ${tx.array(pairs.map((p) => p[1] as string))}::text[])
        AS k(workspace_id, kind) ON k.workspace_id = w.workspace_id AND k.kind = w.event_kind
      WHERE w.status = 'WAITING'`;
    const outcomes: { id: string; outcome: WaitOutcome }[] = [];
    for (const wait of waits) {
      const run = bindingOf(wait);
      const since = eventsSince(wait.spec, wait.run_created_at);
      const own = events.filter((_, i) => rows[i]?.workspace_id === wait.workspace_id);
      const found = await firstMatch(wait.workspace_id, wait.spec, since, own, run);
      if ('overBudget' in found) outcomes.push({ id: wait.id, outcome: overBudgetOutcome(found.overBudget) });
      else if (found.index >= 0) outcomes.push({ id: wait.id, outcome: { status: 'RESOLVED', value: own[found.index] } });
    }
    return outcomes;
  }
}

/** The `flow-run.<state>` event kinds of a run that ended. */
const RUN_ENDED_KINDS = new Set(TERMINAL_RUN_STATES.map((state) => `flow-run.${state.toLowerCase()}`));

function bindingOf(wait: WaitingEventWait): RunBinding {
  return runBinding({ id: wait.run_id, name: wait.run_name, parameters: wait.parameters, partition_key: wait.partition_key });
}
