import type { OutpostEvent } from '@outpost/sdk/contracts';
import { type CelSandbox, isBudgetFailure, type SandboxItem, type SandboxResult } from '../cel/sandbox.js';
import type { EventRow } from '../events/db/events.js';
import { groupBy } from '../group-by.js';
import { MATCH_VARIABLES } from './compile.js';
import type { AutomationRow } from './db/automations.js';

/*
 * The first half of an automations round: every expression that depends only on the event (a
 * trigger's match, groupBy and after), evaluated in the CEL sandbox before the round touches any
 * trigger state. Workspaces are evaluated side by side, each its events in order, in small batches
 * the sandbox serves in turn, so one workspace's slow expressions hold up its own evaluations and
 * not another's. A workspace whose evaluations in one round pass WORKSPACE_ROUND_BUDGET_MS of CPU
 * time (what the sandbox charged its calls), or ROUND_WALL_FACTOR times that in wall time, has its
 * remaining events of the round set aside (quarantined, listed to it) rather than delaying the
 * round for everyone. CPU time, so a loaded machine does not set aside a workspace's cheap events.
 */

/** The evaluation CPU time a workspace may spend in one round. */
export const WORKSPACE_ROUND_BUDGET_MS = 2_000;
/** The wall time a workspace's evaluations may take in one round, as a multiple of its CPU budget. */
const ROUND_WALL_FACTOR = 5;
/** Items per sandbox call: small enough that workspaces take turns often. */
const CHUNK = 64;

/** What the round needs of an automation to evaluate it. */
export interface VerdictAutomation {
  row: AutomationRow;
  /** Its event-only expressions by key (`match`, `groupBy`, `after`, `0.match` …). */
  expressions: Record<string, string>;
}

export type Verdict = SandboxResult;

/** For each event (by seq) either the results by `<automation id>:<key>`, or why the workspace's events were set aside. */
export interface RoundVerdicts {
  results: Map<string, Map<string, Verdict>>;
  /** Events not evaluated at all, by seq, with the reason. */
  setAside: Map<string, string>;
}

/** Whether an automation sees this event: it came after the automation, and is not the audit entry of its own action. */
export function sees(a: AutomationRow, row: EventRow): boolean {
  if (row.received_at < a.created_at) return false;
  // Nor the audit entries of its own actions: an automation matching those would feed itself forever.
  return !(row.source === 'system' && row.payload.actorKind === 'automation' && row.payload.actorId === a.id);
}

export async function evaluateRound(
  sandbox: CelSandbox,
  rows: EventRow[],
  events: Map<string, OutpostEvent>,
  byWorkspace: Map<string, VerdictAutomation[]>,
  budgetMs = WORKSPACE_ROUND_BUDGET_MS,
): Promise<RoundVerdicts> {
  const verdicts: RoundVerdicts = { results: new Map(), setAside: new Map() };
  const rowsByWorkspace = groupBy(rows, (row) => row.workspace_id);
  await Promise.all(
    [...rowsByWorkspace].map(async ([workspaceId, wsRows]) => {
      const automations = byWorkspace.get(workspaceId) ?? [];
      const started = Date.now();
      let cpuMs = 0;
      for (const [i, row] of wsRows.entries()) {
        const wallMs = Date.now() - started;
        if (cpuMs > budgetMs || wallMs > budgetMs * ROUND_WALL_FACTOR) {
          const spent = cpuMs > budgetMs ? `${budgetMs} ms of CPU time` : `${budgetMs * ROUND_WALL_FACTOR} ms (wall time)`;
          const reason = `the workspace's automations spent more than ${spent} evaluating one round of events; the rest of that round was set aside`;
          for (const rest of wsRows.slice(i)) verdicts.setAside.set(String(rest.seq), reason);
          return;
        }
        const event = events.get(String(row.seq)) as OutpostEvent;
        const keys: string[] = [];
        const items: SandboxItem[] = [];
        for (const a of automations) {
          if (!sees(a.row, row)) continue;
          for (const [key, source] of Object.entries(a.expressions)) {
            keys.push(`${a.row.id}:${key}`);
            items.push({ kind: 'expression', source, variables: MATCH_VARIABLES, bindings: 0 });
          }
        }
        const results = new Map<string, Verdict>();
        for (let at = 0; at < items.length; at += CHUNK) {
          const answer = await sandbox.runMetered(workspaceId, [{ event }], items.slice(at, at + CHUNK));
          cpuMs += answer.cpuMs;
          for (const [j, result] of answer.results.entries()) results.set(keys[at + j] as string, result);
        }
        verdicts.results.set(String(row.seq), results);
      }
    }),
  );
  return verdicts;
}

/** A verdict as a filter: true only for a boolean true. */
export function isMatch(verdict: Verdict | undefined): boolean {
  return verdict?.ok === true && verdict.value === true;
}

/** The budget failure among these verdicts, if any: the automation could not be evaluated on the event. */
export function budgetFailure(verdicts: (Verdict | undefined)[]): string | null {
  for (const v of verdicts) if (v && isBudgetFailure(v)) return v.message;
  return null;
}
