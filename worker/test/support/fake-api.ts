import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ClaimedRun, StateType } from '@outpost/sdk/contracts';
import { LoopbackServer } from './loopback-server.js';
import { testWorkerVars } from './test-worker.js';

/*
 * A scriptable control plane on 127.0.0.1 for the worker's lifecycle tests: the conditions that
 * matter there (heartbeats failing for longer than a lease, a 429 on claim, a run reported lost)
 * cannot be provoked on demand from the real API. Responses follow the contracts exactly, since the
 * worker's client validates them. Runs are held in memory.
 */

interface FakeRun {
  claimed: ClaimedRun;
  state: StateType;
  states: Array<{ type: StateType; name: string | null; message: string | null }>;
  taskRuns: Map<string, { name: string; state: StateType; seq: number }>;
  logs: Map<string, { seq: number; message: string; stream: string }>;
}

function state(type: StateType, message: string | null = null) {
  return { type, name: type.charAt(0) + type.slice(1).toLowerCase(), message, timestamp: new Date().toISOString(), data: null };
}

/** The line a server that no longer supports the worker answers its heartbeats with. */
export const TOO_OLD_DETAIL =
  'outpost-worker 0.2.0 is too old for this server (0.4.0), which supports 0.3.0 and newer: upgrade it with `npm install -g @outpost/worker@^0.4`';

/** The key the fake control plane accepts from its workers. */
export const FAKE_WORKER_KEY = 'op_worker_key_for_tests';

/**
 * The environment `parseOptions` reads for a worker of the fake control plane at `apiUrl`: the key it
 * accepts, a cache and spool under `scratch`, log batches every 50 ms, and `extra` on top.
 */
export function fakeApiWorkerEnv(apiUrl: string, scratch: string, extra: Record<string, string> = {}): Record<string, string> {
  return testWorkerVars(apiUrl, FAKE_WORKER_KEY, scratch, extra);
}

export class FakeApi extends LoopbackServer {
  readonly runs = new Map<string, FakeRun>();
  readonly heartbeats: Array<{
    workerId: string;
    name: string;
    capacity: number;
    labels?: Record<string, string>;
    runs: Array<{ id: string }>;
    stopping?: boolean;
  }> = [];
  claims = 0;
  /** Task-run batches received. */
  taskBatches = 0;
  leaseSeconds = 30;
  /** The lease grace announced with each heartbeat. */
  leaseGraceSeconds = 0;
  /**
   * How heartbeats fail, when they do: `unavailable` answers 503 (the API up, its database down),
   * `reset` drops the connection unanswered (this worker cut off, for all it can tell).
   */
  heartbeatDown: false | 'unavailable' | 'reset' | 'too_old' = false;
  /** When a heartbeat was last answered with renewed leases (ms since the epoch). */
  lastRenewalAt: number | undefined;
  /** 'ok', or a status to answer the next claims with. */
  claimScript: number[] = [];
  readonly cancel = new Set<string>();
  readonly lost = new Set<string>();
  /** Runs the heartbeat reports as ended on the API with this state (and, as the API does, as lost too). */
  readonly ended = new Map<string, StateType>();
  /**
   * While set, a heartbeat naming this run is answered only once `release` resolves, and the run's
   * final state is accepted only once such a heartbeat has arrived: one is on its way while the run
   * completes, however quickly the run goes.
   */
  holdHeartbeatNaming: { runId: string; release: Promise<void> } | null = null;
  /** Runs whose state proposals answer 409 stale_attempt, as when another attempt superseded this one. */
  readonly stale = new Set<string>();
  private readonly queue: ClaimedRun[] = [];

  /** Queues a run for the next claim and returns its id. */
  enqueue(deployment: {
    source: string;
    entrypoint: string;
    flowName: string;
    jobVariables?: Record<string, unknown>;
    /** The deployment's name (`test` when not given). */
    name?: string;
    signature?: string | null;
    parameters?: Record<string, unknown>;
    /** The deployment's id (a new one when not given): runs of one deployment share it. */
    deploymentId?: string;
  }): string {
    const id = randomUUID();
    const deploymentId = deployment.deploymentId ?? randomUUID();
    const now = new Date().toISOString();
    const claimed: ClaimedRun = {
      flowRun: {
        id,
        name: `run-${id.slice(0, 8)}`,
        flowId: randomUUID(),
        flowName: deployment.flowName,
        deploymentId,
        deploymentName: deployment.name ?? 'test',
        workPool: 'default',
        workQueue: 'default',
        parameters: (deployment.parameters ?? {}) as ClaimedRun['flowRun']['parameters'],
        tags: [],
        state: state('PENDING'),
        attempt: 1,
        maxRetries: 0,
        idempotencyKey: null,
        workerId: null,
        leaseExpiresAt: now,
        expectedStartTime: now,
        startTime: null,
        endTime: null,
        createdAt: now,
        updatedAt: now,
      },
      deployment: {
        id: deploymentId,
        name: deployment.name ?? 'test',
        flowName: deployment.flowName,
        source: deployment.source,
        entrypoint: deployment.entrypoint,
        jobVariables: (deployment.jobVariables ?? {}) as ClaimedRun['deployment']['jobVariables'],
        signature: deployment.signature ?? null,
      },
      token: `run-token-${id}`,
      leaseExpiresAt: now,
      resources: null,
      assigned: null,
      logSeqAfter: 0,
    };
    this.queue.push(claimed);
    this.runs.set(id, { claimed, state: 'PENDING', states: [], taskRuns: new Map(), logs: new Map() });
    return id;
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = chunks.length ? (JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>) : {};
    const path = (req.url ?? '').replace(/^\/api\/v1/, '');
    if (/^\/work-pools\/[^/]+\/workers\/heartbeat$/.test(path)) return this.heartbeat(body, res);
    if (/^\/work-pools\/[^/]+\/claim$/.test(path)) return this.claim(body, res);
    const setState = /^\/flow-runs\/([^/]+)\/set-state$/.exec(path);
    if (setState) return this.setState(setState[1]!, body, res);
    const taskBatch = /^\/flow-runs\/([^/]+)\/task-runs\/batch$/.exec(path);
    if (taskBatch) {
      const run = this.runs.get(taskBatch[1]!)!;
      this.taskBatches++;
      const applied = applyTaskEvents(run, body.events as TaskEvent[]);
      return this.json(res, 200, { applied, duplicates: (body.events as unknown[]).length - applied, refused: [] });
    }
    const logs = /^\/flow-runs\/([^/]+)\/logs$/.exec(path);
    if (logs) {
      const run = this.runs.get(logs[1]!)!;
      let accepted = 0;
      for (const line of body.logs as Array<{ seq: number; message: string; stream: string }>) {
        if (!run.logs.has(`${body.attempt}/${line.seq}`)) accepted++;
        run.logs.set(`${body.attempt}/${line.seq}`, line);
      }
      return this.json(res, 200, { accepted, duplicates: (body.logs as unknown[]).length - accepted });
    }
    this.json(res, 404, { type: 'about:blank', title: 'Not found', status: 404, code: 'not_found' });
  }

  private async heartbeat(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    this.heartbeats.push(body as never);
    const hold = this.holdHeartbeatNaming;
    if (hold && (body.runs as Array<{ id: string }>).some((r) => r.id === hold.runId)) await hold.release;
    if (this.heartbeatDown === 'unavailable') {
      this.json(res, 503, { type: 'about:blank', title: 'Unavailable', status: 503, code: 'unavailable' });
      return;
    }
    if (this.heartbeatDown === 'too_old') {
      this.json(res, 426, {
        type: 'urn:outpost:problem:client_too_old',
        title: 'Upgrade required',
        status: 426,
        code: 'client_too_old',
        detail: TOO_OLD_DETAIL,
      });
      return;
    }
    if (this.heartbeatDown === 'reset') {
      res.socket?.destroy();
      return;
    }
    const held = body.runs as Array<{ id: string; attempt: number }>;
    this.lastRenewalAt = Date.now();
    const expires = new Date(this.lastRenewalAt + this.leaseSeconds * 1000).toISOString();
    this.json(res, 200, {
      renewed: held
        .filter((r) => !this.lost.has(r.id) && !this.ended.has(r.id))
        .map((r) => ({ ...r, leaseExpiresAt: expires, token: `run-token-${r.id}` })),
      cancel: held.filter((r) => this.cancel.has(r.id)),
      lost: held.filter((r) => this.lost.has(r.id) || this.ended.has(r.id)),
      ended: held.filter((r) => this.ended.has(r.id)).map((r) => ({ ...r, stateType: this.ended.get(r.id)! })),
      leaseSeconds: this.leaseSeconds,
      leaseGraceSeconds: this.leaseGraceSeconds,
      serverTime: new Date().toISOString(),
    });
  }

  private async claim(body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    this.claims++;
    const status = this.claimScript.shift();
    if (status !== undefined) {
      if (status === 429) res.setHeader('retry-after', '1');
      return this.json(res, status, {
        type: 'about:blank',
        title: 'Refused',
        status,
        code: status === 429 ? 'rate_limited' : 'unavailable',
      });
    }
    const deadline = Date.now() + Math.min(Number(body.waitMs ?? 0), 200);
    if (Number(body.limit) === 0) {
      // A full worker's watch-only claim: nothing to claim, so it waits out its time, as the API does.
      while (Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      this.json(res, 200, { runs: [], ...(body.held ? { cancel: [] } : {}) });
      return;
    }
    while (this.queue.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    const runs = this.queue.splice(0, Number(body.limit));
    for (const r of runs) this.runs.get(r.flowRun.id)!.claimed.flowRun.workerId = body.workerId as string;
    this.json(res, 200, { runs });
  }

  private async setState(id: string, body: Record<string, unknown>, res: ServerResponse): Promise<void> {
    const run = this.runs.get(id)!;
    const finalType = (body.state as { type: StateType }).type;
    if (this.holdHeartbeatNaming?.runId === id && ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'].includes(finalType)) {
      while (!this.heartbeats.some((h) => h.runs.some((r) => r.id === id))) await new Promise((r) => setTimeout(r, 10));
    }
    if (this.stale.has(id)) {
      this.json(res, 409, { type: 'about:blank', title: 'Stale attempt', status: 409, code: 'stale_attempt' });
      return;
    }
    // Lines and task-run events carried by the proposal are stored first, as the real API does in the same transaction.
    for (const line of (body.logs ?? []) as Array<{ seq: number; message: string; stream: string }>) {
      run.logs.set(`${body.attempt}/${line.seq}`, line);
    }
    applyTaskEvents(run, (body.taskRuns ?? []) as TaskEvent[]);
    const proposed = body.state as { type: StateType; name?: string; message?: string };
    const terminal = ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'];
    let status = 'ACCEPT';
    if (terminal.includes(run.state)) status = 'REJECT';
    else if (run.state === 'CANCELLING' && proposed.type !== 'CANCELLED') status = 'REJECT';
    if (status === 'ACCEPT') {
      run.state = proposed.type;
      run.states.push({ type: proposed.type, name: proposed.name ?? null, message: proposed.message ?? null });
    }
    this.json(res, 200, {
      status,
      state: state(run.state),
      attempt: 1,
      reason: status === 'ACCEPT' ? null : 'not allowed',
      waitSeconds: null,
    });
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' });
    res.end(JSON.stringify(body));
  }
}

type TaskEvent = { kind: string; id: string; name?: string; seq?: number; state: { type: StateType } };

/** Applies task-run events as the API does (a creation once, a change only past the last `seq`); how many changed something. */
function applyTaskEvents(
  run: { taskRuns: Map<string, { name: string; state: StateType; seq: number }> },
  events: readonly TaskEvent[],
): number {
  let applied = 0;
  for (const event of events) {
    const known = run.taskRuns.get(event.id);
    if (event.kind === 'create' && !known)
      run.taskRuns.set(event.id, { name: event.name ?? '', state: event.state.type, seq: 0 });
    else if (event.kind === 'state' && known && (event.seq ?? 0) > known.seq) {
      known.state = event.state.type;
      known.seq = event.seq ?? 0;
    } else continue;
    applied++;
  }
  return applied;
}
