import { randomBytes } from 'node:crypto';
import {
  GENERATED_WAIT_TOKEN_PREFIX,
  type RunWaitValue,
  type Wait,
  type WaitCreateRequest,
  type WaitCreateSpec,
  type WaitSpec,
} from '@outpost/sdk/contracts';
import type { Db, Sql, TxSql } from '../db/client.js';
import { DomainError, notFound } from '../domain-error.js';
import { AUDIT_KIND_PREFIX } from '../events/db/event-list.js';
import { assertUsableSchema, withPropertyOrder } from '../runs/parameter-schema.js';
import { getWait, toWait, type WaitOutcome } from './db/waits.js';
import { assertMatchCompiles, lookBack, overBudgetOutcome, type RunBinding } from './event-match.js';
import { resolveWaits } from './resolve.js';
import { lockToken } from './tokens.js';

/** The run a wait is created for, locked. */
interface WaitingRun {
  id: string;
  workspace_id: string;
  name: string;
  state_type: string;
  attempt: number;
  parameters: Record<string, unknown>;
  partition_key: string | null;
  created_at: Date;
}

export function runBinding(run: Pick<WaitingRun, 'id' | 'name' | 'parameters' | 'partition_key'>): RunBinding {
  return { id: run.id, name: run.name, parameters: run.parameters, partitionKey: run.partition_key };
}

/** The time an event wait counts events from: its `since`, or the run's creation. */
export function eventsSince(spec: WaitSpec, runCreatedAt: Date): Date {
  return spec.kind === 'event' && spec.since ? new Date(spec.since) : runCreatedAt;
}

/**
 * What a new wait resolves to at once, if anything: an until wait whose time has passed, a token
 * already completed, an event already stored (the look-back). Null: it waits.
 */
async function outcomeAtOnce(tx: TxSql, run: WaitingRun, spec: WaitSpec, now: Date): Promise<WaitOutcome | null> {
  switch (spec.kind) {
    case 'until':
      return new Date(spec.until).getTime() <= now.getTime() ? { status: 'RESOLVED', value: null } : null;
    case 'token': {
      await lockToken(tx, run.workspace_id, spec.token);
      const [token] = await tx<{ value: unknown }[]>`
        SELECT value FROM wait_tokens WHERE workspace_id = ${run.workspace_id} AND token = ${spec.token}`;
      return token ? { status: 'RESOLVED', value: token.value ?? null } : null;
    }
    case 'event': {
      const found = await lookBack(tx, run.workspace_id, spec, eventsSince(spec, run.created_at), runBinding(run));
      if (found.overBudget !== undefined) return overBudgetOutcome(found.overBudget);
      return found.event ? { status: 'RESOLVED', value: found.event } : null;
    }
    case 'approval':
      return null;
    case 'run':
      return runWaitOutcome(tx, run.workspace_id, spec.flowRunId);
    case 'external':
      return null;
  }
}

/** The run states a run wait resolves on. */
export const TERMINAL_RUN_STATES = ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'] as const;

/** A run wait's outcome when its run has already ended: resolved with the run and its terminal state. */
export async function runWaitOutcome(db: Db, workspaceId: string, runId: string): Promise<WaitOutcome | null> {
  const [target] = await db<{ id: string; name: string; state_type: string; state_name: string; state_message: string | null }[]>`
    SELECT id, name, state_type, state_name, state_message FROM flow_runs
    WHERE workspace_id = ${workspaceId} AND id = ${runId}
      AND state_type IN ${db(TERMINAL_RUN_STATES as unknown as string[])}`;
  if (!target) return null;
  const value: RunWaitValue = {
    id: target.id,
    name: target.name,
    state: { type: target.state_type, name: target.state_name, message: target.state_message },
  };
  return { status: 'RESOLVED', value };
}

/**
 * The spec a new wait is stored with. An approval's form keeps its fields in the order the flow
 * wrote them (see withPropertyOrder); a token wait that names no token gets a new random one (192
 * bits: a capability, not a name anyone could guess).
 */
function storedSpec(spec: WaitCreateSpec): WaitSpec {
  if (spec.kind === 'approval' && spec.form) return { ...spec, form: withPropertyOrder(spec.form) };
  if (spec.kind === 'token') return { kind: 'token', token: spec.token ?? newWaitToken() };
  return spec;
}

export function newWaitToken(): string {
  return `${GENERATED_WAIT_TOKEN_PREFIX}${randomBytes(24).toString('base64url')}`;
}

/**
 * Begins one of a running run's waits, or finds it again by key (a replay after a suspension gets
 * the stored wait, resolved or not). A new wait that is already satisfied resolves in the same
 * transaction. Only the attempt the run is on may begin waits (`attempt`: the run token's; null for
 * the worker key holding the run).
 */
export async function createWait(
  sql: Sql,
  input: { workspaceId: string; runId: string; attempt: number | null; request: WaitCreateRequest },
): Promise<{ wait: Wait; created: boolean }> {
  const { request } = input;
  if (request.spec.kind === 'event') {
    // A resolved wait's value is readable by every role (`GET /waits`): the audit log's events are not.
    if (request.spec.event.startsWith(AUDIT_KIND_PREFIX)) {
      throw new DomainError('validation_failed', 'the request body is invalid', {
        errors: [
          {
            path: 'body.spec.event',
            message: 'audit events are for owners and admins (the audit log); a flow cannot wait for one',
          },
        ],
      });
    }
    assertMatchCompiles(request.spec.match);
  }
  if (request.spec.kind === 'approval' && request.spec.form) {
    assertUsableSchema(request.spec.form, 'body.spec.form', 'the approval’s form');
  }
  const targetRunId = request.spec.kind === 'run' ? request.spec.flowRunId : null;
  const result = await sql.begin(async (tx) => {
    const [run] = await tx<(WaitingRun & { now: Date })[]>`
      SELECT id, workspace_id, name, state_type, attempt, parameters, partition_key, created_at, now()::timestamptz(3) AS now
      FROM flow_runs WHERE id = ${input.runId} AND workspace_id = ${input.workspaceId}
      FOR UPDATE`;
    if (!run) throw notFound('flow run');
    if (input.attempt !== null && input.attempt !== run.attempt) {
      throw new DomainError('stale_attempt', `attempt ${input.attempt} is stale; the run is on attempt ${run.attempt}`);
    }
    const [existing] = await tx<{ id: string; kind: string }[]>`
      SELECT id, kind FROM waits WHERE flow_run_id = ${run.id} AND key = ${request.key}`;
    if (existing) {
      if (existing.kind !== request.spec.kind) {
        throw new DomainError(
          'conflict',
          `the run's wait "${request.key}" is a ${existing.kind} wait, not a ${request.spec.kind} wait: a flow must begin the same waits in the same order on every attempt`,
        );
      }
      return { id: existing.id, created: false };
    }
    if (run.state_type !== 'RUNNING') {
      throw new DomainError('conflict', `only a running run can begin a wait; the run is ${run.state_type}`);
    }
    if (targetRunId !== null) {
      const [target] = await tx`SELECT 1 FROM flow_runs WHERE workspace_id = ${run.workspace_id} AND id = ${targetRunId}`;
      if (!target || targetRunId === run.id) {
        throw new DomainError('validation_failed', 'the request body is invalid', {
          errors: [{ path: 'body.spec.flowRunId', message: 'not a flow run of this workspace that the run can wait for' }],
        });
      }
    }
    const spec = storedSpec(request.spec);
    const expiresAt = request.timeoutSeconds ? new Date(run.now.getTime() + request.timeoutSeconds * 1000) : null;
    const until = spec.kind === 'until' ? new Date(spec.until) : null;
    const due = [expiresAt, until].filter((d): d is Date => d !== null).sort((a, b) => a.getTime() - b.getTime())[0] ?? null;
    const [inserted] = await tx<{ id: string }[]>`
      INSERT INTO waits (workspace_id, flow_run_id, key, kind, spec, expires_at, due_at, event_kind, token, target_run_id,
                         looked_back, poll_at, created_at)
      VALUES (${run.workspace_id}, ${run.id}, ${request.key}, ${spec.kind}, ${tx.json(spec as never)}, ${expiresAt}, ${due},
              ${spec.kind === 'event' ? spec.event : null}, ${spec.kind === 'token' ? spec.token : null}, ${targetRunId},
              -- Event and run waits are looked at once more after they commit (loops/waits.ts).
              ${spec.kind !== 'event' && spec.kind !== 'run'},
              -- An external job's first poll is one interval after it started.
              ${spec.kind === 'external' ? new Date(run.now.getTime() + spec.pollSeconds * 1000) : null}, ${run.now})
      RETURNING id`;
    const id = (inserted as { id: string }).id;
    const outcome = await outcomeAtOnce(tx, run, spec, run.now);
    if (outcome) await resolveWaits(tx, [{ id, outcome }]);
    return { id, created: true };
  });
  const row = await getWait(sql, input.workspaceId, result.id);
  if (!row) throw notFound('wait');
  return { wait: toWait(row), created: result.created };
}
