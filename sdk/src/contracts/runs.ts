import * as z from 'zod';
import { BatchItemError, Id, JsonObject, MAX_BATCH_RUNS, Name, PageLimit, page, Tags, Timestamp } from './common.js';
import { LogLines } from './logs.js';
import { AssignedResources, ResourceRequest } from './resources.js';
import { ProposedState, State, StateProposalResponse, StateType, StateTypeList } from './states.js';
import { MAX_TASK_RUN_EVENTS, TaskRunEvent } from './task-runs.js';

export const RunWaitingFor = z.enum(['no_worker', 'pool_paused']);
export type RunWaitingFor = z.infer<typeof RunWaitingFor>;

export const FlowRun = z.strictObject({
  id: Id,
  name: z.string(),
  flowId: Id,
  flowName: Name,
  deploymentId: Id.nullable(),
  deploymentName: Name.nullable(),
  workPool: Name.nullable(),
  workQueue: Name.nullable(),
  parameters: JsonObject,
  tags: Tags,
  state: State,
  /** Attempt number, starting at 1; also the lease's fencing token. */
  attempt: z.number().int(),
  maxRetries: z.number().int(),
  /** Attempts that began by resuming the run after a wait: they spend no retry (absent from older servers and the claim). */
  resumes: z.number().int().min(0).optional(),
  idempotencyKey: z.string().nullable(),
  workerId: Id.nullable(),
  leaseExpiresAt: Timestamp.nullable(),
  expectedStartTime: Timestamp,
  startTime: Timestamp.nullable(),
  endTime: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  /** For a subflow run: the flow run it was called from (absent from servers that predate subflows). */
  parentFlowRunId: Id.nullable().optional(),
  /** For a subflow run: the parent's task run that stands for the call. */
  parentTaskRunId: Id.nullable().optional(),
  /** The backfill that created the run, if one did (absent from servers that predate backfills). */
  backfillId: Id.nullable().optional(),
  /**
   * Why a run waiting to be claimed cannot be, right now: `no_worker` when no worker of its pool is
   * online, `pool_paused` when its pool is paused; null otherwise (absent from older servers).
   */
  waitingFor: RunWaitingFor.nullable().optional(),
  /** When the run was first due; retries do not move it (absent from older servers). */
  scheduledTime: Timestamp.nullable().optional(),
  /** The schedule that created the run (a schedule fill or a backfill of it). */
  scheduleId: Id.nullable().optional(),
  /** The deployment version (code, entrypoint, parameter schema, job variables) every attempt runs. */
  deploymentVersionId: Id.nullable().optional(),
  /** The run this one reproduces (`POST /flow-runs/:id/reproduce`); absent from older servers. */
  reproducedFromId: Id.nullable().optional(),
  /** The `sha256:…` that version's source is pinned to (null for a `dir:` source). */
  sourceDigest: z.string().nullable().optional(),
  /** The partition the run works on (`runContext().partitionKey`); null for an unpartitioned run. */
  partitionKey: z.string().nullable().optional(),
  /** What the run asks of its worker (its own request, else its deployment's); null for none. */
  resources: ResourceRequest.nullable().optional(),
});
export type FlowRun = z.infer<typeof FlowRun>;

export const FlowRunCreateRequest = z.strictObject({
  parameters: JsonObject.optional(),
  tags: Tags.optional(),
  name: z.string().min(1).max(200).optional(),
  /** Run no earlier than this; now when absent. */
  scheduledTime: z.iso.datetime({ offset: true }).optional(),
  workQueue: Name.optional(),
  /** The partition the run works on; checked against the deployment's partitions when it has any. */
  partitionKey: z.string().min(1).max(400).optional(),
  /** What the run needs of its worker, over the deployment's request (`outpost run … --gpus 2`). */
  resources: ResourceRequest.optional(),
});
export type FlowRunCreateRequest = z.infer<typeof FlowRunCreateRequest>;

export const FlowRunCreateResponse = z.strictObject({
  flowRun: FlowRun,
  /** False when an earlier request with the same Idempotency-Key created it. */
  created: z.boolean(),
});
export type FlowRunCreateResponse = z.infer<typeof FlowRunCreateResponse>;

/**
 * The order of a runs list: newest created first (the default), or soonest expected start first,
 * which with `state=SCHEDULED` lists upcoming runs in the order they are due.
 */
export const FlowRunListSort = z.enum(['CREATED_DESC', 'EXPECTED_START_TIME_ASC']);
export type FlowRunListSort = z.infer<typeof FlowRunListSort>;

export const FlowRunListQuery = z.strictObject({
  limit: PageLimit,
  /** @default 'CREATED_DESC'; a cursor continues only the order it was returned with. */
  sort: FlowRunListSort.optional(),
  cursor: z.string().max(500).optional(),
  /** Comma-separated state types. */
  state: StateTypeList.optional(),
  deploymentId: Id.optional(),
  flow: Name.optional(),
  tag: z.string().max(100).optional(),
  /** Runs with exactly this name (names are friendly, not unique: `calm-otter` may name several). */
  name: z.string().min(1).max(200).optional(),
  workPool: Name.optional(),
  createdAfter: z.iso.datetime({ offset: true }).optional(),
  createdBefore: z.iso.datetime({ offset: true }).optional(),
});
export type FlowRunListQuery = z.input<typeof FlowRunListQuery>;

export const FlowRunListResponse = page(FlowRun);
export type FlowRunListResponse = z.infer<typeof FlowRunListResponse>;

export const StateProposalRequest = z.strictObject({
  /** Client-generated; a repeated proposal with the same id returns the first answer. */
  transitionId: Id,
  /** The attempt the caller holds; a stale attempt is rejected with 409. Omitted by users acting on a run. */
  attempt: z.number().int().min(1).optional(),
  state: ProposedState,
  /**
   * Log lines of the caller's attempt to store first, in the same transaction: whatever was logged
   * before a state change is readable once the change is, in one round trip instead of two.
   * Numbered like `POST /flow-runs/:id/logs` lines, so a redelivery stores nothing twice.
   */
  logs: LogLines.optional(),
  /**
   * Task-run events of the caller's attempt to apply first, in the same transaction, as
   * `POST /flow-runs/:id/task-runs/batch` would: a run's last task runs and its end travel in one
   * request, and whoever reads the run's end reads its task runs' ends too. Idempotent like the
   * batch route (ids and `seq`), so a redelivered proposal applies nothing twice. Only the holder of
   * the attempt (its worker or run token) may send them.
   */
  taskRuns: z.array(TaskRunEvent).min(1).max(MAX_TASK_RUN_EVENTS).optional(),
  /**
   * The flow process's exit code, when the worker saw it exit before proposing: recorded on the
   * attempt this proposal ends. Only the holder of the attempt (its worker or run token) may send it.
   */
  exitCode: z.number().int().min(-2_147_483_648).max(2_147_483_647).optional(),
});
export type StateProposalRequest = z.infer<typeof StateProposalRequest>;

// Defined beside the states it answers with: a flow process checks it on every run, and needs nothing else of this module.
export { StateProposalResponse };

export const StateProposalBatchItem = z.strictObject({
  flowRunId: Id,
  transitionId: Id,
  /** The attempt the worker holds: the lease's fencing token. */
  attempt: z.number().int().min(1).max(2_147_483_647),
  state: ProposedState,
  /** The flow process's exit code, recorded on the attempt this proposal ends. */
  exitCode: z.number().int().min(-2_147_483_648).max(2_147_483_647).optional(),
});

/** State proposals for runs the calling worker key holds, judged one by one and written together. */
export const StateProposalBatchRequest = z.strictObject({
  items: z
    .array(StateProposalBatchItem)
    .min(1)
    .max(MAX_BATCH_RUNS)
    .superRefine((items, ctx) => {
      const seen = new Set<string>();
      for (const [i, item] of items.entries()) {
        if (seen.has(item.flowRunId)) {
          ctx.addIssue({ code: 'custom', path: [i, 'flowRunId'], message: 'each run may appear once per batch' });
        }
        seen.add(item.flowRunId);
      }
    }),
});
export type StateProposalBatchRequest = z.infer<typeof StateProposalBatchRequest>;

/** One answer per item, in the order of the request: the judgement, or the item's own error. */
export const StateProposalBatchResponse = z.strictObject({
  items: z.array(
    z.strictObject({
      flowRunId: Id,
      answer: StateProposalResponse.nullable(),
      error: BatchItemError.nullable(),
    }),
  ),
});
export type StateProposalBatchResponse = z.infer<typeof StateProposalBatchResponse>;

export const StateHistoryEntry = z.strictObject({
  id: Id,
  attempt: z.number().int(),
  state: State,
});
export const StateHistoryResponse = z.strictObject({ items: z.array(StateHistoryEntry) });
export type StateHistoryResponse = z.infer<typeof StateHistoryResponse>;

/** One attempt a worker claimed: who ran it, when, the code it was handed and how it ended. */
export const FlowRunAttempt = z.strictObject({
  attempt: z.number().int(),
  workerId: Id,
  /** The worker's name when it claimed (kept after the worker is gone). */
  workerName: z.string().nullable(),
  claimedAt: Timestamp,
  startedAt: Timestamp.nullable(),
  endedAt: Timestamp.nullable(),
  /** The state the attempt ended in; null while it runs. */
  state: z.strictObject({ type: StateType, name: z.string(), message: z.string().nullable() }).nullable(),
  exitCode: z.number().int().nullable(),
  /** The `sha256:…` of the code the attempt was handed (null for a `dir:` source). */
  sourceDigest: z.string().nullable(),
  /** The devices, memory and CPU slots the attempt was handed; null when the run asked for none. */
  assigned: AssignedResources.nullable().optional(),
});
export type FlowRunAttempt = z.infer<typeof FlowRunAttempt>;
export const FlowRunAttemptsResponse = z.strictObject({ items: z.array(FlowRunAttempt) });
export type FlowRunAttemptsResponse = z.infer<typeof FlowRunAttemptsResponse>;

/*
 * How people are shown a run's code and attempt, the same in the CLI and the dashboard. Plain
 * functions of the contract types, with no Node imports: the dashboard loads this module in the browser.
 */

/**
 * A code digest (`sourceDigest`, `codeDigest`) cut as registries and git show them: an OCI digest
 * `sha256:<64 hex>` to `sha256:<12 hex>`, a git commit (40 hex) to its first 12; anything else whole.
 */
export function shortCodeDigest(digest: string): string {
  if (/^sha256:[a-f0-9]{64}$/.test(digest)) return digest.slice(0, 'sha256:'.length + 12);
  if (/^[a-f0-9]{40}$/.test(digest)) return digest.slice(0, 12);
  return digest;
}

/**
 * A compact duration, as both the CLI and the dashboard print one: 850ms, 4.2s, 42s, 4m 05s, 2h 03m,
 * 3d 04h. A negative or non-finite span (clocks apart, a missing end) reads `missing`.
 */
export function formatDuration(ms: number, missing = '—'): string {
  if (!Number.isFinite(ms) || ms < 0) return missing;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.floor(s)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(Math.floor(s % 60)).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${String(h % 24).padStart(2, '0')}h`;
}

/**
 * "2 of 3" while the run is within its retries; a run retried by hand past them reads
 * "3 (retried by hand after 2)" rather than an impossible "3 of 2". Attempts that resumed the run
 * after a wait spend no retry, and are named as such: "3 (resumed after a wait twice)",
 * "4 (resumed after a wait once; retry 2 of 2)".
 */
export function attemptLabel(run: Pick<FlowRun, 'attempt' | 'maxRetries' | 'resumes'>): string {
  const resumes = Math.min(run.resumes ?? 0, run.attempt - 1);
  const allowed = run.maxRetries + 1;
  if (resumes === 0) {
    return run.attempt <= allowed ? `${run.attempt} of ${allowed}` : `${run.attempt} (retried by hand after ${allowed})`;
  }
  const retries = run.attempt - 1 - resumes;
  const times = resumes === 1 ? 'once' : resumes === 2 ? 'twice' : `${resumes} times`;
  const parts = [`resumed after a wait ${times}`];
  if (retries > 0) {
    parts.push(
      retries <= run.maxRetries
        ? `retry ${retries} of ${run.maxRetries}`
        : `retried by hand after ${run.maxRetries} ${run.maxRetries === 1 ? 'retry' : 'retries'}`,
    );
  }
  return `${run.attempt} (${parts.join('; ')})`;
}

/** What the worker needs to run a claimed run. Source is a pinned reference, never code. */
export const ClaimedRun = z.strictObject({
  flowRun: FlowRun,
  deployment: z.strictObject({
    id: Id,
    name: Name,
    flowName: Name,
    source: z.string(),
    entrypoint: z.string(),
    jobVariables: JsonObject,
    /** The customer's signature of the run's deployment version; null when unsigned. A worker with `--trust-key` verifies it. */
    signature: z.string().nullable().default(null),
  }),
  /** JWT for this run and attempt only (audience `outpost-run`). */
  token: z.string(),
  leaseExpiresAt: Timestamp,
  /** What the run asked for (null for nothing, and from servers that predate resources): an executor sizes its job by it (`nvidia.com/gpu`). */
  resources: ResourceRequest.nullable().default(null),
  /** What this worker handed it: device ids, memory, CPU slots; null when the run asked for nothing. */
  assigned: AssignedResources.nullable().default(null),
  /**
   * The highest log seq already stored for this attempt (0: none): a run handed back unstarted keeps
   * its attempt and what its earlier claimer logged, and the worker numbers its own lines after it.
   */
  logSeqAfter: z.number().int().min(0).default(0),
  /**
   * Milliseconds from this answer until the run is due (its expected start, on the database's clock):
   * present only for a run claimed ahead of its due time, which a claim does only when asked
   * (`ClaimRequest.prefetchMs`). The worker starts it then, and waits no longer than it asked for.
   */
  dueInMs: z.number().int().min(0).optional(),
});
export type ClaimedRun = z.infer<typeof ClaimedRun>;

export const ClaimResponse = z.strictObject({
  runs: z.array(ClaimedRun),
  /** Attempts of the request's `held` asked to cancel (CANCELLING); only when it named some. */
  cancel: z.array(z.strictObject({ id: Id, attempt: z.number().int().min(1) })).optional(),
});
export type ClaimResponse = z.infer<typeof ClaimResponse>;

/**
 * A restarted worker takes over the attempts its earlier process left running (Kubernetes Jobs it
 * found by label): each run still held at that attempt by a worker of the same name and pool,
 * claimed with the same API key, moves to the new worker with a renewed lease.
 */
export const RunAdoptRequest = z.strictObject({
  /** The new worker process's id, registered by its first heartbeat. */
  workerId: Id,
  runs: z
    .array(z.strictObject({ id: Id, attempt: z.number().int().min(1) }))
    .min(1)
    .max(1000),
});
export type RunAdoptRequest = z.infer<typeof RunAdoptRequest>;

export const RunAdoptResponse = z.strictObject({
  /** Runs the worker now holds, as a claim returns them (a fresh run token), with the attempt's highest stored log seq. */
  adopted: z.array(z.strictObject({ run: ClaimedRun, logSeq: z.number().int().min(0) })),
  /** Runs the worker may not take over (finished, retried, held by another worker): it stops their attempts. */
  refused: z.array(z.strictObject({ id: Id, attempt: z.number().int().min(1) })),
});
export type RunAdoptResponse = z.infer<typeof RunAdoptResponse>;
