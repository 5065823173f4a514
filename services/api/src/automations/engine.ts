import { existsSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { FiringAction, OutpostEvent } from '@outpost/sdk/contracts';
import type { CelSandbox, SandboxItem, SandboxResult } from '../cel/sandbox.js';
import type { Sql, TxSql } from '../db/client.js';
import { type EventRow, lockLedgerCursor, readLedger, saveLedgerCursor, toEvent } from '../events/db/events.js';
import { groupBy } from '../group-by.js';
import { appendAuditEntry, type NewAuditEntry } from '../identity/db/audit.js';
import { type ActionContext, failureMessage, runAction } from './actions.js';
import { type CompiledAutomation, type CompiledCache, EXPECT_VARIABLES, TEMPLATE_VARIABLES } from './compile.js';
import { type AutomationRow, finishFiring, insertFiring, quarantineEvent } from './db/automations.js';
import { budgetFailure, evaluateRound, isMatch, type RoundVerdicts, sees, type Verdict } from './verdicts.js';

/*
 * One round of the automations loop, in ONE transaction: read the committed events after the
 * stored cursor, evaluate every enabled automation of each event's workspace, keep the triggers'
 * memory (counts, cooldowns, progress, windows) in tables, insert each firing under its unique key,
 * apply its actions (each in a savepoint: a failing one is recorded and the others still run),
 * audit them, and store the cursor. A crash anywhere rolls all of it back and the next leader redoes
 * the round from the same cursor: every action happens exactly once.
 *
 * Tenants' expressions never run here: the round first evaluates them in the CEL sandbox
 * (verdicts.ts), where each has a deadline. An automation whose evaluation ran past its budget on an
 * event skips that event (quarantined: listed to its workspace, never evaluated again) and is turned
 * off after MAX_BUDGET_FAILURES such events (counted until its expressions change: cheap events in
 * between do not clear the count). A round that keeps dying on the same events
 * (whatever the cause) narrows to one event after a failed attempt, and steps over that event,
 * quarantined, after POISON_ATTEMPTS: no event can keep the loop down across restarts.
 *
 * Automations can trigger each other, or themselves (an automation on "a run of D was scheduled"
 * that runs D). Every run an action creates or changes carries the chain of automations that caused
 * it, and its events carry the chain on: a firing whose event already has MAX_CHAIN automations
 * behind it runs no action, nor does one past its automation's MAX_FIRINGS_PER_MINUTE; both are
 * recorded on the firing as SKIPPED with the reason. Runs created by automations count against the
 * workspace's `automationRunsPerMinute` quota.
 *
 * The automations of an archived workspace do nothing: the workspace takes no new work, though the
 * runs it had under way still send events. A round evaluates no automation of it and reads its
 * events past (they are not kept for later: a restored workspace's automations react to what happens
 * from then on, not to a backlog), opens no cron window for it, and drops its windows that close
 * meanwhile without firing them (nobody watched for their expected events). Every round reads the
 * archive state afresh, so a restored workspace's automations work again from the next round.
 */

const CURSOR = 'automations';

/** Evaluations past their budget (since its expressions last changed) after which an automation is turned off. */
export const MAX_BUDGET_FAILURES = 3;
/** Rounds at the same cursor that may fail before the loop narrows to one event; one more and it steps over that event. */
export const POISON_ATTEMPTS = 3;
/** Automations that may stand behind an event before the next firing's actions are skipped. */
export const MAX_CHAIN = 5;
/** Firings of one automation a minute whose actions run; more are recorded as skipped. */
export const MAX_FIRINGS_PER_MINUTE = 600;

export interface RoundOptions {
  /** Events read per round. */
  batchSize: number;
  /** Where tenants' expressions and templates are evaluated. */
  sandbox: CelSandbox;
  /** Firings of one automation a minute whose actions run. @default MAX_FIRINGS_PER_MINUTE */
  firingsPerMinute?: number | undefined;
  /** Evaluation time a workspace may spend in one round. @default WORKSPACE_ROUND_BUDGET_MS */
  workspaceBudgetMs?: number | undefined;
  /** Test-only: before a firing's actions, wait while this file exists (after writing `<file>.reached` with the pid). */
  holdFile?: string | undefined;
}

export interface RoundResult {
  events: number;
  firings: number;
  windowsClosed: number;
  /** Events stepped over after rounds on them kept failing. */
  steppedOver: number;
}

interface Loaded {
  row: AutomationRow;
  compiled: CompiledAutomation;
  /** Turned off during this round (over budget): it sees no more of the round's events. */
  disabled: boolean;
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

/** The group of an event from its groupBy verdict: '' without one, null when the expression could not read the event. */
function groupOf(verdict: Verdict | undefined, hasGroupBy: boolean): string | null {
  if (!hasGroupBy) return '';
  // An event the group expression cannot read is in no group: it cannot count towards one.
  if (!verdict?.ok) return null;
  return typeof verdict.value === 'string' ? verdict.value : JSON.stringify(verdict.value);
}

/** The chain of automations behind an event (its payload's `causation.chain`), oldest first. */
function chainOf(event: OutpostEvent | null | undefined): string[] {
  const causation = event?.payload.causation as { chain?: unknown } | undefined;
  const chain = causation?.chain;
  return Array.isArray(chain) ? chain.filter((id): id is string => typeof id === 'string') : [];
}

const at = (event: OutpostEvent): number => Date.parse(event.receivedAt);

export class AutomationEngine {
  /** The audit entries of the round under way, written at its end (see #round). */
  #audit: NewAuditEntry[] = [];

  constructor(
    private readonly cache: CompiledCache,
    private readonly options: RoundOptions,
  ) {}

  async round(sql: Sql): Promise<RoundResult> {
    const attempts = await this.#begin(sql);
    if (attempts > POISON_ATTEMPTS) {
      const steppedOver = await this.#stepOver(sql, attempts - 1);
      return { events: 0, firings: 0, windowsClosed: 0, steppedOver };
    }
    // After a round that did not commit, one event at a time, so the one that kills rounds is found.
    const batchSize = attempts > 1 ? 1 : this.options.batchSize;
    return (await sql.begin((tx) => this.#round(tx, batchSize))) as RoundResult;
  }

  /** Counts this round's attempt at the cursor, outside the round's transaction so a crash cannot roll it back. */
  async #begin(sql: Sql): Promise<number> {
    await sql`INSERT INTO automation_cursor (name, txid, seq) VALUES (${CURSOR}, '0'::xid8, 0) ON CONFLICT DO NOTHING`;
    const [row] = await sql<{ attempts: number }[]>`
      UPDATE automation_cursor SET attempts = attempts + 1 WHERE name = ${CURSOR} RETURNING attempts`;
    return row?.attempts ?? 1;
  }

  /** Quarantines the event at the cursor for every automation of its workspace and moves past it. */
  async #stepOver(sql: Sql, failed: number): Promise<number> {
    return (await sql.begin(async (tx) => {
      const cursor = await lockLedgerCursor(tx, 'automation_cursor', CURSOR);
      const {
        rows: [row],
        next,
      } = await readLedger(tx, cursor, 1);
      if (row) {
        await quarantineEvent(tx, {
          workspaceId: row.workspace_id,
          eventId: row.id,
          eventKind: row.kind,
          automationId: null,
          reason: `${failed} rounds of the automations loop that read this event failed in a row; the loop stepped over it`,
        });
      }
      await saveLedgerCursor(tx, 'automation_cursor', CURSOR, next);
      await tx`UPDATE automation_cursor SET attempts = 0 WHERE name = ${CURSOR}`;
      return row ? 1 : 0;
    })) as number;
  }

  async #round(tx: TxSql, batchSize: number): Promise<RoundResult> {
    this.#audit = [];
    // The row lock makes a second replica's round (a leader that lost its lock mid-round) wait and then read the new cursor.
    const cursor = await lockLedgerCursor(tx, 'automation_cursor', CURSOR);
    // Opened before the events are read, so an expected event of this round already finds its window.
    await this.#openCronWindows(tx);
    const { rows, next } = await readLedger(tx, cursor, batchSize);
    const result: RoundResult = { events: rows.length, firings: 0, windowsClosed: 0, steppedOver: 0 };
    if (rows.length > 0) {
      const workspaces = [...new Set(rows.map((r) => r.workspace_id))];
      const byWorkspace = await this.#load(tx, workspaces);
      const events = new Map(rows.map((row) => [String(row.seq), toEvent(row)]));
      const verdicts = await evaluateRound(
        this.options.sandbox,
        rows,
        events,
        new Map(
          [...byWorkspace].map(([ws, list]) => [ws, list.map((a) => ({ row: a.row, expressions: a.compiled.expressions }))]),
        ),
        this.options.workspaceBudgetMs,
      );
      for (const row of rows) {
        const event = events.get(String(row.seq)) as OutpostEvent;
        const setAside = verdicts.setAside.get(String(row.seq));
        if (setAside !== undefined) {
          await quarantineEvent(tx, {
            workspaceId: row.workspace_id,
            eventId: row.id,
            eventKind: row.kind,
            automationId: null,
            reason: setAside,
          });
          continue;
        }
        for (const a of byWorkspace.get(row.workspace_id) ?? []) {
          if (!sees(a.row, row) || a.disabled) continue;
          result.firings += await this.#evaluate(tx, a, event, row, verdicts);
        }
      }
    }
    await saveLedgerCursor(tx, 'automation_cursor', CURSOR, next);
    // Windows close by time only once the ledger is read up to now: an expected event still unread would otherwise be missed.
    if (rows.length < batchSize) {
      const closed = await this.#closeWindows(tx);
      result.windowsClosed = closed;
      result.firings += closed;
    }
    // The round's audit entries go last, a workspace at a time: each holds its workspace's chain head
    // until the round commits, so taking them at the end (and in one order) keeps that hold short
    // and keeps two writers from waiting on each other's heads.
    const entries = this.#audit.sort((x, y) => (x.workspaceId < y.workspaceId ? -1 : x.workspaceId > y.workspaceId ? 1 : 0));
    this.#audit = [];
    for (const entry of entries) await appendAuditEntry(tx, entry);
    await tx`UPDATE automation_cursor SET attempts = 0 WHERE name = ${CURSOR}`;
    return result;
  }

  /** The enabled automations of these workspaces, except those of archived ones (see the top of this file). */
  async #load(tx: TxSql, workspaces: string[]): Promise<Map<string, Loaded[]>> {
    const rows = await tx<AutomationRow[]>`
      SELECT a.* FROM automations a
      JOIN workspaces w ON w.id = a.workspace_id
      WHERE a.enabled AND w.archived_at IS NULL AND a.workspace_id = ANY(${tx.array(workspaces)}::uuid[])
      ORDER BY a.created_at, a.id`;
    return groupBy(
      rows,
      (row) => row.workspace_id,
      (row): Loaded => ({ row, compiled: this.#compiled(row), disabled: false }),
    );
  }

  #compiled(row: AutomationRow): CompiledAutomation {
    return this.cache.get(row.id, row.updated_at, row.trigger, row.actions);
  }

  /**
   * The automation's evaluation on this event ran past its budget: the event is quarantined for it,
   * and after MAX_BUDGET_FAILURES of them the automation is turned off with the reason.
   */
  async #overBudget(tx: TxSql, a: Loaded, row: EventRow, message: string): Promise<void> {
    await quarantineEvent(tx, {
      workspaceId: row.workspace_id,
      eventId: row.id,
      eventKind: row.kind,
      automationId: a.row.id,
      reason: message,
    });
    const reason = `turned off: its expressions ran past their budget on ${MAX_BUDGET_FAILURES} events (last: ${message}); simplify them, then enable it again`;
    const [updated] = await tx<{ enabled: boolean; budget_failures: number }[]>`
      UPDATE automations SET
        budget_failures = budget_failures + 1,
        last_error = ${`an evaluation ran past its budget: ${message}`},
        enabled = budget_failures + 1 < ${MAX_BUDGET_FAILURES},
        disabled_reason = CASE WHEN budget_failures + 1 < ${MAX_BUDGET_FAILURES} THEN disabled_reason ELSE ${reason} END
      WHERE id = ${a.row.id}
      RETURNING enabled, budget_failures`;
    if (updated && !updated.enabled) a.disabled = true;
  }

  /** The firings this event caused for this automation (0 or 1). */
  async #evaluate(tx: TxSql, a: Loaded, event: OutpostEvent, row: EventRow, verdicts: RoundVerdicts): Promise<number> {
    const t = a.compiled.trigger;
    const id = a.row.id;
    const mine = verdicts.results.get(String(row.seq));
    const verdict = (key: string | null): Verdict | undefined => (key === null ? undefined : mine?.get(`${id}:${key}`));
    const failed = budgetFailure(Object.keys(a.compiled.expressions).map((key) => verdict(key)));
    if (failed !== null) {
      await this.#overBudget(tx, a, row, failed);
      return 0;
    }
    switch (t.type) {
      case 'event': {
        const trigger = t.trigger;
        if (!isMatch(verdict(trigger.match))) return 0;
        const group = groupOf(verdict(trigger.groupBy), trigger.groupBy !== null);
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
        const hits = t.triggers.map((sub) => isMatch(verdict(sub.match)));
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
        if (next && isMatch(verdict(next.match))) {
          events = [...events, event];
          step += 1;
        } else if (step > 0 && t.triggers[0] && isMatch(verdict(t.triggers[0].match))) {
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
          const group = t.groupBy ? groupOf(verdict(t.groupBy), true) : null;
          const candidates = open.filter((w) => !t.groupBy || w.group_key === group);
          // `expect` reads the window's opening event as well, so it is evaluated here, per window, in the sandbox.
          const results = await this.options.sandbox.run(
            row.workspace_id,
            candidates.map((w) => ({ event, opening: w.opening_event })),
            candidates.map(
              (_, i): SandboxItem => ({ kind: 'expression', source: t.expect, variables: EXPECT_VARIABLES, bindings: i }),
            ),
          );
          const over = budgetFailure(results);
          if (over !== null) {
            await this.#overBudget(tx, a, row, over);
            return 0;
          }
          for (const [i, w] of candidates.entries()) {
            if (isMatch(results[i])) await tx`UPDATE automation_windows SET status = 'MET' WHERE id = ${w.id}`;
          }
        }
        if (isMatch(verdict(t.after))) {
          const group = groupOf(verdict(t.groupBy), t.groupBy !== null);
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

  /** Opens the window of each cron-windowed automation's latest cron time, once (none in an archived workspace). */
  async #openCronWindows(tx: TxSql): Promise<void> {
    const rows = await tx<AutomationRow[]>`
      SELECT a.* FROM automations a
      JOIN workspaces w ON w.id = a.workspace_id
      WHERE a.enabled AND w.archived_at IS NULL AND a.trigger->>'type' = 'proactive' AND a.trigger ? 'cron'`;
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

  /**
   * Fires each open window whose time is up (it closed without the expected event), once. A window
   * of an archived workspace whose time is up is dropped instead: the rounds did not read its
   * workspace's events meanwhile, so whether the expected event came is unknown, and firing it once
   * the workspace is restored would only send stale alerts.
   */
  async #closeWindows(tx: TxSql): Promise<number> {
    await tx`
      DELETE FROM automation_windows w
      USING automations a, workspaces ws
      WHERE a.id = w.automation_id AND ws.id = a.workspace_id AND ws.archived_at IS NOT NULL
        AND w.status = 'OPEN' AND w.closes_at <= now()`;
    const due = await tx<
      { id: string; automation_id: string; group_key: string; opened_at: Date; opening_event: OutpostEvent | null }[]
    >`
      UPDATE automation_windows w SET status = 'FIRED'
      FROM automations a
      JOIN workspaces ws ON ws.id = a.workspace_id
      WHERE a.id = w.automation_id AND a.enabled AND ws.archived_at IS NULL AND w.status = 'OPEN' AND w.closes_at <= now()
      RETURNING w.id, w.automation_id, w.group_key, w.opened_at, w.opening_event`;
    if (due.length === 0) return 0;
    const ids = [...new Set(due.map((w) => w.automation_id))];
    const rows = await tx<AutomationRow[]>`SELECT * FROM automations WHERE id = ANY(${tx.array(ids)}::uuid[])`;
    const byId = new Map(rows.map((row) => [row.id, { row, compiled: this.#compiled(row), disabled: false }]));
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

  /**
   * Why this firing's actions must not run, or null: a chain of MAX_CHAIN automations already
   * stands behind its event, or the automation fired MAX_FIRINGS_PER_MINUTE times in the last minute.
   */
  async #holdBack(tx: TxSql, a: Loaded, chain: string[]): Promise<string | null> {
    if (chain.length >= MAX_CHAIN) {
      return `${chain.length} automations caused this event in a chain (${chain.join(' → ')}); a chain stops at ${MAX_CHAIN}`;
    }
    const limit = this.options.firingsPerMinute ?? MAX_FIRINGS_PER_MINUTE;
    const [recent] = await tx<{ n: number }[]>`
      SELECT count(*)::int AS n FROM (
        SELECT 1 FROM automation_firings
        WHERE automation_id = ${a.row.id} AND fired_at > now() - interval '1 minute'
        LIMIT ${limit + 1}) recent`;
    // The firing being recorded is one of them.
    if ((recent?.n ?? 0) > limit) {
      return `the automation fired more than ${limit} times in the last minute, its limit`;
    }
    return null;
  }

  /** Renders every template of the firing's actions in the sandbox, by `<action index>.<field>`. */
  async #render(a: Loaded, variables: ActionContext['variables']): Promise<Map<string, SandboxResult>> {
    const keys: string[] = [];
    const items: SandboxItem[] = [];
    for (const action of a.compiled.actions) {
      for (const [field, template] of Object.entries(action.templates)) {
        keys.push(`${action.index}.${field}`);
        items.push({ kind: 'template', template, variables: TEMPLATE_VARIABLES, bindings: 0 });
      }
    }
    const results = await this.options.sandbox.run(a.row.workspace_id, [variables as unknown as Record<string, unknown>], items);
    return new Map(results.map((result, i) => [keys[i] as string, result]));
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
    const chain = chainOf(events.at(-1));
    const heldBack = await this.#holdBack(tx, a, chain);
    const variables = { event: events.at(-1) ?? null, events, automation: { id: row.id, name: row.name } };
    const ctx: ActionContext = {
      workspaceId: row.workspace_id,
      automationId: row.id,
      deploymentId: row.deployment_id,
      firingId,
      firingKey: key,
      variables,
      rendered: heldBack === null ? await this.#render(a, variables) : new Map(),
      chain: [...chain, row.id],
    };
    const outcomes: FiringAction[] = [];
    for (const [index, action] of a.compiled.actions.entries()) {
      let outcome: FiringAction;
      if (heldBack !== null) {
        outcome = { index, type: action.action.type, status: 'SKIPPED', error: heldBack, resultIds: [] };
      } else {
        try {
          const resultIds = await tx.savepoint((sp) => runAction(sp, action, ctx));
          outcome = { index, type: action.action.type, status: 'SUCCEEDED', error: null, resultIds };
        } catch (error) {
          outcome = { index, type: action.action.type, status: 'FAILED', error: failureMessage(error), resultIds: [] };
        }
      }
      outcomes.push(outcome);
      this.#audit.push({
        workspaceId: row.workspace_id,
        actorKind: 'automation',
        actorId: row.id,
        action: `automation.${action.action.type}`,
        method: null,
        path: null,
        status: outcome.status === 'SUCCEEDED' ? 200 : outcome.status === 'SKIPPED' ? 429 : 422,
        clientAddress: null,
        userAgent: null,
        requestId: null,
        targetIds: { automationId: row.id, firingId },
        resultIds: Object.fromEntries(outcome.resultIds.map((id, i) => [`result${i}`, id])),
        summary: { firingKey: key, ...(outcome.error ? { error: outcome.error } : {}) },
      });
    }
    const failed = outcomes.find((o) => o.status !== 'SUCCEEDED');
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
