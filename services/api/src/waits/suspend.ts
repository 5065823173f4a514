import { isAllowedTransition, type RecordedResult, type SuspendResponse, type WaitSpec } from '@outpost/sdk/contracts';
import type { Sql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { SUSPENDED } from '../orchestration/decisions.js';
import type { Actor } from '../orchestration/rules.js';
import { applyStateChanges, lockRuns } from '../runs/db/run-states.js';
import { getWait, lockWait, recordResults, toWait } from './db/waits.js';
import type { SuspendedData } from './resolve.js';

/** The suspended state's message: what the run waits for, in words. */
export function waitingFor(spec: WaitSpec): string {
  switch (spec.kind) {
    case 'approval':
      return `waiting for approval “${spec.title}”`;
    case 'event':
      return `waiting for event “${spec.event}”`;
    case 'token':
      return `waiting for token “${spec.token}”`;
    case 'until':
      return `waiting until ${spec.until}`;
    case 'run':
      return `waiting for flow run ${spec.flowRunId} to finish`;
    case 'external':
      return `waiting for ${spec.label} ${JSON.stringify(spec.handle).slice(0, 200)} to end`;
  }
}

/**
 * Parks a running run on one of its WAITING waits, in one transaction: records where its completed
 * tasks' results are, moves it RUNNING → PAUSED ("Suspended", the wait in its state data), releases
 * its worker and lease (the lease loop looks only at held runs, so a PAUSED run never expires) and
 * ends its attempt. The run is locked before the wait, the order resolvers take too, so a wait
 * resolving at the same moment either comes first (the run stays RUNNING: `suspended: false` with
 * the resolved wait, for the flow to go on with) or comes after and resumes the run it finds PAUSED.
 */
export async function suspendRun(
  sql: Sql,
  input: {
    workspaceId: string;
    runId: string;
    /** The run token's attempt; null for the worker key holding the run (it holds the current one). */
    attempt: number | null;
    actor: Actor;
    waitId: string;
    results: readonly RecordedResult[];
  },
): Promise<SuspendResponse> {
  const suspended = await sql.begin(async (tx) => {
    const [run] = await lockRuns(tx, input.workspaceId, [{ runId: input.runId, transitionId: crypto.randomUUID() }]);
    if (!run) throw notFound('flow run');
    if (input.attempt !== null && input.attempt !== run.attempt) {
      throw new DomainError('stale_attempt', `attempt ${input.attempt} is stale; the run is on attempt ${run.attempt}`);
    }
    const wait = await lockWait(tx, input.workspaceId, input.waitId);
    if (!wait || wait.flow_run_id !== run.id) throw notFound('wait');
    if (wait.status !== 'WAITING') return false;
    if (!isAllowedTransition(run.stateType, 'PAUSED', input.actor)) {
      throw new DomainError('conflict', `only a running run can suspend; the run is ${run.stateType}`);
    }
    await recordResults(tx, { workspaceId: run.workspaceId, flowRunId: run.id, attempt: run.attempt, results: input.results });
    const data: SuspendedData = { waitId: wait.id };
    await applyStateChanges(tx, [
      {
        run,
        states: [{ type: 'PAUSED', name: SUSPENDED, message: waitingFor(wait.spec), data, attempt: run.attempt }],
        attempt: run.attempt,
        expectedStartTime: null,
        clearLease: true,
        endsAttempt: true,
        transitionId: null,
        response: null,
      },
    ]);
    return true;
  });
  const row = await getWait(sql, input.workspaceId, input.waitId);
  if (!row) throw notFound('wait');
  return { suspended, wait: toWait(row) };
}
