import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FiringAction, OutpostEvent } from '@outpost/sdk/contracts';
import { appendAuditEntry } from '../db/audit.js';
import { type AutomationRow, finishFiring, insertFiring } from '../db/automations.js';
import type { Sql, TxSql } from '../db/client.js';
import { type EventRow, LEDGER_START, type LedgerCursor, readCommittedEvents, toEvent } from '../db/events.js';
import { type ActionContext, failureMessage, runAction } from './actions.js';
import type { CompiledAutomation, CompiledCache, CompiledEventTrigger } from './compile.js';

/*
 * One round of the automations loop, in ONE transaction: read the committed events after the
 * stored cursor, evaluate every enabled automation of each event's workspace, keep the triggers'
 * memory (counts, cooldowns, progress, windows) in tables, insert each firing under its unique key,
 * apply its actions (each in a savepoint: a failing one is recorded and the others still run),
 * audit them, and store the cursor. A crash anywhere rolls all of it back and the next leader redoes
 * the round from the same cursor: every action happens exactly once.
 */

const CURSOR = 'automations';

export interface RoundOptions {
  /** Events read per round. */
  batchSize: number;
  /** Test-only: before a firing's actions, wait while this file exists (after writing `<file>.reached` with the pid). */
  holdFile?: string | undefined;
}

export interface RoundResult {
  events: number;
  firings: number;
  windowsClosed: number;
}

interface Loaded {
  row: AutomationRow;
  compiled: CompiledAutomation;
}

type StateData = Record<string, unknown>;

async function readState(tx: TxSql, id: string, kind: string, group: string): Promise<StateData | null> {
  const [row] = await tx<{ data: StateData }[]>`
    SELECT data FROM automation_state WHERE automation_id = ${id} AND kind = ${kind} AND group_key = ${group}`;
  return row?.data ?? null;
}

async function writeState(tx: TxSql, id: string, kind: string, group: string, data: StateData | null): Promise<void> {
  if (data === null) {
    await tx`DELETE FROM automation_state WHERE automation_id = ${id} AND kind = ${kind} AND group_key = ${group}`;
    return;
  }
  await tx`
    INSERT INTO automation_state (automation_id, kind, group_key, data)
    VALUES (${id}, ${kind}, ${group}, ${tx.json(data as never)})
    ON CONFLICT (automation_id, kind, group_key) DO UPDATE SET data = excluded.data, updated_at = now()`;
}

function groupOf(program: CompiledEventTrigger['groupBy'], event: OutpostEvent): string | null {
  if (!program) return '';
  try {
    const value = program.evaluate({ event });
    return typeof value === 'string' ? value : JSON.stringify(value);
  } catch {
    // An event the group expression cannot read is in no group: it cannot count towards one.
    return null;
  }
}

const at = (event: OutpostEvent): number => Date.parse(event.receivedAt);

export class AutomationEngine {
  constructor(
    private readonly cache: CompiledCache,
    private readonly options: RoundOptions,
  ) {}

  async round(sql: Sql): Promise<RoundResult> {
    return (await sql.begin((tx) => this.#round(tx))) as RoundResult;
  }

  async #round(tx: TxSql): Promise<RoundResult> {
    await tx`INSERT INTO automation_cursor (name, txid, seq) VALUES (${CURSOR}, ${LEDGER_START.txid}::xid8, 0) ON CONFLICT DO NOTHING`;
    // The row lock makes a second replica's round (a leader that lost its lock mid-round) wait and then read the new cursor.
    const [cursorRow] = await tx<LedgerCursor[]>`
      SELECT txid::text AS txid, seq::text AS seq FROM automation_cursor WHERE name = ${CURSOR} FOR UPDATE`;
    const cursor = cursorRow ?? LEDGER_START;
    // Opened before the events are read, so an expected event of this round already finds its window.
    await this.#openCronWindows(tx);
    const rows = await readCommittedEvents(tx, cursor, this.options.batchSize);
    const result: RoundResult = { events: rows.length, firings: 0, windowsClosed: 0 };
    if (rows.length > 0) {
      const workspaces = [...new Set(rows.map((r) => r.workspace_id))];
      const byWorkspace = await this.#load(tx, workspaces);
      for (const row of rows) {
        const event = toEvent(row);
        for (const a of byWorkspace.get(row.workspace_id) ?? []) {
          // An automation sees what happened after it was made, not the history before it.
          if (row.received_at < a.row.created_at) continue;
          // Nor the audit entries of its own actions: an automation matching those would feed itself forever.
          if (row.source === 'system' && row.payload.actorKind === 'automation' && row.payload.actorId === a.row.id) continue;
          result.firings += await this.#evaluate(tx, a, event, row);
        }
      }
      const last = rows.at(-1) as EventRow;
      await tx`UPDATE automation_cursor SET txid = ${last.txid}::xid8, seq = ${last.seq}, updated_at = now() WHERE name = ${CURSOR}`;
    }
    // Windows close by time only once the ledger is read up to now: an expected event still unread would otherwise be missed.
    if (rows.length < this.options.batchSize) {
      const closed = await this.#closeWindows(tx);
      result.windowsClosed = closed;
      result.firings += closed;
    }
    return result;
  }

  async #load(tx: TxSql, workspaces: string[]): Promise<Map<string, Loaded[]>> {
    const rows = await tx<AutomationRow[]>`
      SELECT * FROM automations WHERE enabled AND workspace_id = ANY(${tx.array(workspaces)}::uuid[]) ORDER BY created_at, id`;
    const map = new Map<string, Loaded[]>();
    for (const row of rows) {
      const loaded = { row, compiled: this.#compiled(row) };
      const list = map.get(row.workspace_id) ?? [];
      list.push(loaded);
      map.set(row.workspace_id, list);
    }
    return map;
  }

  #compiled(row: AutomationRow): CompiledAutomation {
    return this.cache.get(row.id, row.updated_at, row.trigger, row.actions);
  }

  /** The firings this event caused for this automation (0 or 1). */
  async #evaluate(tx: TxSql, a: Loaded, event: OutpostEvent, row: EventRow): Promise<number> {
    const t = a.compiled.trigger;
    const id = a.row.id;
    switch (t.type) {
      case 'event': {
        const trigger = t.trigger;
        if (!trigger.match.matches({ event })) return 0;
        const group = groupOf(trigger.groupBy, event);
        if (group === null) return 0;
        const { threshold, cooldownSeconds } = trigger.source;
        let events = [event];
        if (cooldownSeconds !== undefined) {
          const cool = await readState(tx, id, 'cooldown', group);
          if (cool && at(event) < Number(cool.until)) return 0;
        }
        if (threshold) {
          const state = (await readState(tx, id, 'threshold', group)) ?? { seen: [] };
          const horizon = at(event) - threshold.withinSeconds * 1000;
          const seen = (state.seen as { at: number; event: OutpostEvent }[]).filter((s) => s.at > horizon);
          seen.push({ at: at(event), event });
          if (seen.length < threshold.count) {
            // Only the ids and times are needed to count; the last `count` events are kept for templates.
            await writeState(tx, id, 'threshold', group, { seen: seen.slice(-threshold.count) });
            return 0;
          }
          events = seen.map((s) => s.event);
          await writeState(tx, id, 'threshold', group, null);
        }
        if (cooldownSeconds !== undefined) {
          await writeState(tx, id, 'cooldown', group, { until: at(event) + cooldownSeconds * 1000 });
        }
        return this.#fire(tx, a, `event:${event.id}`, events);
      }
      case 'compound': {
        const hits = t.triggers.map((sub) => sub.match.matches({ event }));
        if (!hits.some(Boolean)) return 0;
        const state = (await readState(tx, id, 'compound', '')) ?? { matched: {} };
        const horizon = at(event) - t.withinSeconds * 1000;
        const matched: Record<string, { at: number; event: OutpostEvent }> = {};
        for (const [index, m] of Object.entries(state.matched as Record<string, { at: number; event: OutpostEvent }>)) {
          if (m.at > horizon) matched[index] = m;
        }
        hits.forEach((hit, i) => {
          if (hit) matched[String(i)] = { at: at(event), event };
        });
        if (Object.keys(matched).length < t.require) {
          await writeState(tx, id, 'compound', '', { matched });
          return 0;
        }
        await writeState(tx, id, 'compound', '', null);
        const events = Object.values(matched)
          .sort((x, y) => x.at - y.at)
          .map((m) => m.event);
        return this.#fire(tx, a, `compound:${event.id}`, events);
      }
      case 'sequence': {
        const state = (await readState(tx, id, 'sequence', '')) ?? { step: 0, startedAt: 0, events: [] };
        let step = Number(state.step);
        let events = state.events as OutpostEvent[];
        if (step > 0 && at(event) - Number(state.startedAt) > t.withinSeconds * 1000) {
          step = 0;
          events = [];
        }
        const next = t.triggers[step];
        if (next?.match.matches({ event })) {
          events = [...events, event];
          step += 1;
        } else if (step > 0 && t.triggers[0]?.match.matches({ event })) {
          // The sequence starts over from this event.
          events = [event];
          step = 1;
        } else {
          return 0;
        }
        if (step < t.triggers.length) {
          await writeState(tx, id, 'sequence', '', {
            step,
            startedAt: step === 1 ? at(event) : Number(state.startedAt),
            events,
          });
          return 0;
        }
        await writeState(tx, id, 'sequence', '', null);
        return this.#fire(tx, a, `sequence:${event.id}`, events);
      }
      case 'proactive': {
        // Expected first: an event that both opens and meets would otherwise meet its own window.
        const open = await tx<{ id: string; group_key: string; opening_event: OutpostEvent | null }[]>`
          SELECT id, group_key, opening_event FROM automation_windows
          WHERE automation_id = ${id} AND status = 'OPEN' AND opened_at <= ${row.received_at} AND closes_at > ${row.received_at}`;
        if (open.length > 0) {
          const group = t.groupBy ? groupOf(t.groupBy, event) : null;
          for (const w of open) {
            if (t.groupBy && w.group_key !== group) continue;
            if (t.expect.matches({ event, opening: w.opening_event })) {
              await tx`UPDATE automation_windows SET status = 'MET' WHERE id = ${w.id}`;
            }
          }
        }
        if (t.after?.matches({ event })) {
          const group = groupOf(t.groupBy, event);
          if (group === null) return 0;
          await tx`
            INSERT INTO automation_windows (automation_id, group_key, opened_at, closes_at, opening_event)
            VALUES (${id}, ${group}, ${row.received_at}, ${row.received_at}::timestamptz + make_interval(secs => ${t.withinSeconds}),
                    ${tx.json(event as never)})
            ON CONFLICT DO NOTHING`;
        }
        return 0;
      }
    }
  }

  /** Opens the window of each cron-windowed automation's latest cron time, once. */
  async #openCronWindows(tx: TxSql): Promise<void> {
    const rows = await tx<AutomationRow[]>`
      SELECT * FROM automations WHERE enabled AND trigger->>'type' = 'proactive' AND trigger ? 'cron'`;
    const now = new Date();
    for (const row of rows) {
      const t = this.#compiled(row).trigger;
      if (t.type !== 'proactive' || !t.cron) continue;
      const opened = t.cron.latestAtOrBefore(now);
      // A window that opened before the automation existed is not its business.
      if (!opened || opened < row.created_at) continue;
      const closes = new Date(opened.getTime() + t.withinSeconds * 1000);
      await tx`
        INSERT INTO automation_windows (automation_id, group_key, opened_at, closes_at)
        VALUES (${row.id}, '', ${opened}, ${closes})
        ON CONFLICT DO NOTHING`;
    }
  }

  /** Fires each open window whose time is up (it closed without the expected event), once. */
  async #closeWindows(tx: TxSql): Promise<number> {
    const due = await tx<
      { id: string; automation_id: string; group_key: string; opened_at: Date; opening_event: OutpostEvent | null }[]
    >`
      UPDATE automation_windows w SET status = 'FIRED'
      FROM automations a
      WHERE a.id = w.automation_id AND a.enabled AND w.status = 'OPEN' AND w.closes_at <= now()
      RETURNING w.id, w.automation_id, w.group_key, w.opened_at, w.opening_event`;
    if (due.length === 0) return 0;
    const ids = [...new Set(due.map((w) => w.automation_id))];
    const rows = await tx<AutomationRow[]>`SELECT * FROM automations WHERE id = ANY(${tx.array(ids)}::uuid[])`;
    const byId = new Map(rows.map((row) => [row.id, { row, compiled: this.#compiled(row) }]));
    let fired = 0;
    for (const w of due) {
      const a = byId.get(w.automation_id);
      if (!a) continue;
      const opened = w.opened_at.toISOString();
      // A cron window has no opening event; templates and notifications get one that says what closed.
      const closedEvent: OutpostEvent = {
        id: w.id,
        seq: '0',
        occurredAt: new Date().toISOString(),
        receivedAt: new Date().toISOString(),
        kind: 'automation.window-closed',
        resource: { kind: 'automation', id: a.row.id, name: a.row.name },
        related: [],
        payload: { group: w.group_key, openedAt: opened },
        source: 'system',
      };
      const events = w.opening_event ? [w.opening_event] : [closedEvent];
      fired += await this.#fire(tx, a, `window:${w.group_key}:${opened}`, events);
    }
    return fired;
  }

  /** Records the firing under its key and applies its actions; 0 when that key fired already. */
  async #fire(tx: TxSql, a: Loaded, key: string, events: OutpostEvent[]): Promise<number> {
    const { row } = a;
    const firingId = await insertFiring(tx, {
      workspaceId: row.workspace_id,
      automationId: row.id,
      key,
      eventIds: events.map((e) => e.id),
    });
    if (firingId === null) return 0;
    await this.#hold();
    const ctx: ActionContext = {
      workspaceId: row.workspace_id,
      automationId: row.id,
      deploymentId: row.deployment_id,
      firingId,
      firingKey: key,
      variables: { event: events.at(-1) ?? null, events, automation: { id: row.id, name: row.name } },
    };
    const outcomes: FiringAction[] = [];
    for (const [index, action] of a.compiled.actions.entries()) {
      let outcome: FiringAction;
      try {
        const resultIds = await tx.savepoint((sp) => runAction(sp, action, ctx));
        outcome = { index, type: action.action.type, status: 'SUCCEEDED', error: null, resultIds };
      } catch (error) {
        outcome = { index, type: action.action.type, status: 'FAILED', error: failureMessage(error), resultIds: [] };
      }
      outcomes.push(outcome);
      await appendAuditEntry(tx, {
        workspaceId: row.workspace_id,
        actorKind: 'automation',
        actorId: row.id,
        action: `automation.${action.action.type}`,
        method: null,
        path: null,
        status: outcome.status === 'SUCCEEDED' ? 200 : 422,
        clientAddress: null,
        userAgent: null,
        requestId: null,
        targetIds: { automationId: row.id, firingId },
        resultIds: Object.fromEntries(outcome.resultIds.map((id, i) => [`result${i}`, id])),
        summary: { firingKey: key, ...(outcome.error ? { error: outcome.error } : {}) },
      });
    }
    const failed = outcomes.find((o) => o.status === 'FAILED');
    await finishFiring(tx, {
      firingId,
      automationId: row.id,
      actions: outcomes,
      lastError: failed ? `action ${failed.index} (${failed.type}): ${failed.error}` : null,
    });
    return 1;
  }

  /** The test-only pause that lets a test kill the leader between a firing and its commit. */
  async #hold(): Promise<void> {
    const file = this.options.holdFile;
    if (!file || !existsSync(file)) return;
    writeFileSync(`${file}.reached`, String(process.pid));
    while (existsSync(file)) await sleep(25);
  }
}
