import * as z from 'zod';
import { Id, JsonObject, JsonValue, Name, PageLimit, Timestamp } from './common.js';
import { EventKind, type OutpostEvent } from './event-ledger.js';
import { utf8Length } from './utf8.js';
import { Role } from './workspaces.js';

/**
 * Durable waits: a flow pauses until something happens — an event, a time, a person's approval, or
 * an external system completing a token. A short wait holds the flow's process; a long one
 * suspends the run (PAUSED, worker slot and process released) and, once the wait resolves, the run
 * is claimed again and replays from the start on the same code, every completed task answered from
 * its recorded result, and every wait already resolved answered with its value.
 */

export const WAIT_KINDS = ['event', 'until', 'approval', 'token', 'run', 'external'] as const;
export const WaitKind = z.enum(WAIT_KINDS);
export type WaitKind = z.infer<typeof WaitKind>;

export const WAIT_STATUSES = ['WAITING', 'RESOLVED', 'TIMED_OUT', 'CANCELLED'] as const;
export const WaitStatus = z.enum(WAIT_STATUSES);
export type WaitStatus = z.infer<typeof WaitStatus>;

/** A run's waits are named by key, unique in the run: `wait-1`, `wait-2`… in call order unless the flow names one. */
export const WaitKey = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'use letters, digits, ".", "_", ":", "/" or "-"');

/** A token's id, chosen by the flow (an external job's id, an order number): unique in the workspace. */
export const WaitTokenId = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]*$/, 'use letters, digits, ".", "_", ":", "/" or "-"');

/** The longest any wait may last. */
export const MAX_WAIT_SECONDS = 90 * 24 * 3600;

export const EventWaitSpec = z.strictObject({
  kind: z.literal('event'),
  /** The event kind to wait for. */
  event: EventKind,
  /** CEL over `event` (and `run`: the waiting run's id, name, parameters, partitionKey); absent: any event of the kind. */
  match: z.string().max(2000).optional(),
  /**
   * Events from this time on count, including ones stored before the wait began: a wait never
   * misses an event that came first. Absent: the run's creation time.
   */
  since: Timestamp.optional(),
});

export const UntilWaitSpec = z.strictObject({ kind: z.literal('until'), until: Timestamp });

export const ApprovalWaitSpec = z.strictObject({
  kind: z.literal('approval'),
  title: z.string().min(1).max(200),
  description: z.string().max(4000).optional(),
  /** JSON Schema of the form the approver fills in (from the flow's zod schema); absent: no form. */
  form: JsonObject.optional(),
  /** Roles that may decide; absent: owner, admin and developer. */
  roles: z.array(Role).min(1).optional(),
});

export const TokenWaitSpec = z.strictObject({ kind: z.literal('token'), token: WaitTokenId });

/** The prefix of the tokens the control plane makes for a token wait that names none. */
export const GENERATED_WAIT_TOKEN_PREFIX = 'wt_';

/**
 * A token wait as a flow asks for it: without `token`, the control plane makes one — 192 random
 * bits, an unguessable capability to hand to the one system that should complete it (the wait's
 * `spec.token` carries it). A `token` the flow names itself (`approve-42`) is an explicit opt-in:
 * anyone who may complete tokens in the workspace and can guess the name can complete it.
 */
export const TokenWaitRequestSpec = z.strictObject({ kind: z.literal('token'), token: WaitTokenId.optional() });

/** Resolves when the run (a deployment's run the flow started) reaches a terminal state. */
export const RunWaitSpec = z.strictObject({ kind: z.literal('run'), flowRunId: Id });

/** The largest handle or result of an external job, in bytes as JSON: it names the job, it is not its data. */
export const MAX_EXTERNAL_JSON_BYTES = 16 * 1024;
/** The shortest and longest time between two polls of an external job. */
export const MIN_EXTERNAL_POLL_SECONDS = 1;
export const MAX_EXTERNAL_POLL_SECONDS = 86_400;

const jsonBytes = (value: unknown) => utf8Length(JSON.stringify(value ?? null));
/** JSON within MAX_EXTERNAL_JSON_BYTES. */
export const ExternalJson = JsonValue.refine((v) => jsonBytes(v) <= MAX_EXTERNAL_JSON_BYTES, {
  message: `must be at most ${MAX_EXTERNAL_JSON_BYTES} bytes as JSON`,
});

/**
 * Resolves when a job in another system ends. The flow started it (a task that recorded `handle`);
 * a worker of the run's pool polls it with the worker's own credentials, in a process loaded from
 * the run's pinned code, where `job` names a `deferrable()` job. The control plane only keeps the
 * handle, the schedule and what the worker reports.
 */
export const ExternalWaitSpec = z.strictObject({
  kind: z.literal('external'),
  /** The name the job was registered under with `deferrable()` in the deployment's code. */
  job: WaitKey,
  /** What names the job in its system (a run id, an ARN), as the job's `start` returned it. */
  handle: ExternalJson,
  /** Time between two polls. */
  pollSeconds: z.number().int().min(MIN_EXTERNAL_POLL_SECONDS).max(MAX_EXTERNAL_POLL_SECONDS),
  /** What kind of job it is, for people: `Databricks run`. */
  label: z.string().min(1).max(200),
  /** The job's page in its system. */
  link: z
    .url({ protocol: /^https?$/ })
    .max(2000)
    .nullable(),
});

export const WaitSpec = z.discriminatedUnion('kind', [
  EventWaitSpec,
  UntilWaitSpec,
  ApprovalWaitSpec,
  TokenWaitSpec,
  RunWaitSpec,
  ExternalWaitSpec,
]);
export type WaitSpec = z.infer<typeof WaitSpec>;

/** A wait's spec in `POST /flow-runs/:id/waits`: a token wait may leave its token to the control plane. */
export const WaitCreateSpec = z.discriminatedUnion('kind', [
  EventWaitSpec,
  UntilWaitSpec,
  ApprovalWaitSpec,
  TokenWaitRequestSpec,
  RunWaitSpec,
  ExternalWaitSpec,
]);
export type WaitCreateSpec = z.infer<typeof WaitCreateSpec>;

/** A person's decision on an approval. */
export const ApprovalDecision = z.object({
  approved: z.boolean(),
  /** The form's values, checked against its schema. */
  data: JsonObject.nullable(),
  comment: z.string().nullable(),
  decidedBy: z.object({ id: Id, label: z.string().nullable() }),
  decidedAt: Timestamp,
});
export type ApprovalDecision = z.infer<typeof ApprovalDecision>;

export const Wait = z.object({
  id: Id,
  flowRunId: Id,
  flowRunName: z.string(),
  key: WaitKey,
  spec: WaitSpec,
  status: WaitStatus,
  createdAt: Timestamp,
  /** When it times out (absent: never; `until` waits resolve at their time instead). */
  expiresAt: Timestamp.nullable(),
  resolvedAt: Timestamp.nullable(),
  /**
   * What the wait returns in the flow: the event (event), null (until), the decision (approval), the
   * value the token was completed with (token), the run's `RunWaitValue` (run).
   */
  value: JsonValue.nullable(),
  /** An external wait's polling, as the workers of its pool report it; null for other kinds. */
  poll: z
    .object({
      count: z.number().int(),
      /** Polls in a row that could not reach the job's system (MAX_FAILED_EXTERNAL_POLLS fail the job). */
      failed: z.number().int(),
      nextAt: Timestamp.nullable(),
      /** What the last poll said (the job's own status message, or why the poll failed). */
      message: z.string().nullable(),
      /** The last poll's log lines, secrets masked by the worker. */
      logs: z.array(z.string()),
      /** The wait ended while the job ran: a worker is to cancel it in its system. */
      cancelPending: z.boolean(),
    })
    .nullable()
    // Servers from before deferred jobs answer without it.
    .default(null),
});
export type Wait = z.infer<typeof Wait>;

/** What a run wait resolves with: the run and the terminal state it reached. */
export const RunWaitValue = z.object({
  id: Id,
  name: z.string(),
  state: z.object({ type: z.string(), name: z.string(), message: z.string().nullable() }),
});
export type RunWaitValue = z.infer<typeof RunWaitValue>;

/** `POST /flow-runs/:id/waits`: idempotent by key (a replay gets the stored wait back). */
export const WaitCreateRequest = z.strictObject({
  key: WaitKey,
  spec: WaitCreateSpec,
  timeoutSeconds: z.number().int().min(1).max(MAX_WAIT_SECONDS).optional(),
});
export type WaitCreateRequest = z.infer<typeof WaitCreateRequest>;

export const WaitResponse = z.object({ wait: Wait });
export type WaitResponse = z.infer<typeof WaitResponse>;

/** `GET /waits/:id?holdSeconds=`: answers at once unless WAITING, then holds up to holdSeconds for a change. */
export const WaitGetQuery = z.strictObject({ holdSeconds: z.coerce.number().int().min(0).max(25).default(0) });

/** A completed task's result, recorded in the customer's storage, that a replay answers from. */
export const RecordedResult = z.strictObject({
  taskRunId: Id,
  taskKey: z.string().min(1).max(500),
  dynamicKey: z.string().min(1).max(500),
  /** Where the worker's result storage keeps it: never the value. */
  ref: z.string().min(1).max(1000),
});
export type RecordedResult = z.infer<typeof RecordedResult>;

/**
 * `POST /flow-runs/:id/suspend` (the attempt's holder): park the run on a WAITING wait, recording
 * where the results of its completed tasks are. If the wait resolved meanwhile nothing changes and
 * the flow goes on (`suspended: false`).
 */
export const SuspendRequest = z.strictObject({
  waitId: Id,
  results: z.array(RecordedResult).max(100_000),
});
export const SuspendResponse = z.object({ suspended: z.boolean(), wait: Wait });
export type SuspendResponse = z.infer<typeof SuspendResponse>;

/** `GET /flow-runs/:id/replay`: what an attempt after a suspension answers without running again. */
export const ReplayResponse = z.object({ results: z.array(RecordedResult) });
export type ReplayResponse = z.infer<typeof ReplayResponse>;

export const WaitListQuery = z.strictObject({
  status: WaitStatus.optional(),
  kind: WaitKind.optional(),
  flowRunId: Id.optional(),
  limit: PageLimit,
  cursor: z.string().max(500).optional(),
});
export const WaitListResponse = z.object({ items: z.array(Wait), nextCursor: z.string().nullable() });

/** `POST /waits/:id/decide` (a user with one of the approval's roles; audited). */
export const ApprovalDecideRequest = z.strictObject({
  approved: z.boolean(),
  data: JsonObject.optional(),
  comment: z.string().max(2000).optional(),
});

/**
 * `POST /wait-tokens/:token/complete`: resolves the token's wait. A token no wait asked for is
 * refused (404): completions are not stored for a wait that may ask later.
 */
export const WaitTokenCompleteRequest = z.strictObject({ value: JsonValue.optional() });
export const WaitTokenParams = z.strictObject({ token: WaitTokenId });
export const WaitTokenCompleteResponse = z.object({
  token: WaitTokenId,
  /** The newest wait for the token (null only from servers before completions of unknown tokens were refused). */
  wait: Wait.nullable(),
});

/** How an external job ended, as a worker's poll saw it: an external wait's value. */
export const ExternalJobOutcome = z.discriminatedUnion('state', [
  z.strictObject({ state: z.literal('succeeded'), result: ExternalJson, message: z.string().max(2000).optional() }),
  z.strictObject({ state: z.literal('failed'), message: z.string().max(2000) }),
  z.strictObject({ state: z.literal('cancelled'), message: z.string().max(2000) }),
]);
export type ExternalJobOutcome = z.infer<typeof ExternalJobOutcome>;

/**
 * One due poll of an external wait, leased to a worker. `action` is `poll` while the wait is
 * WAITING, and `cancel` once it ended without the job ending (the run was cancelled, the wait timed
 * out): the worker then asks the job's system to stop it, once.
 */
export const ClaimedExternalPoll = z.strictObject({
  waitId: Id,
  leaseId: Id,
  action: z.enum(['poll', 'cancel']),
  flowRunId: Id,
  spec: ExternalWaitSpec,
  /** Polls so far, and the consecutive ones that failed to reach the job's system. */
  polls: z.number().int(),
  failedPolls: z.number().int(),
  deployment: z.strictObject({
    id: Id,
    /** The deployment's flow and name, which its signature names (absent from older servers). */
    flowName: Name.optional(),
    name: Name.optional(),
    source: z.string(),
    entrypoint: z.string(),
    jobVariables: JsonObject,
    /** The customer's signature of the run's deployment version; null when unsigned. */
    signature: z.string().nullable().default(null),
  }),
  leaseExpiresAt: Timestamp,
  /** The worker stops a poll that takes longer, and reports it failed. */
  timeoutSeconds: z.number().int(),
});
export type ClaimedExternalPoll = z.infer<typeof ClaimedExternalPoll>;

export const ExternalPollClaimRequest = z.strictObject({
  workerId: Id,
  limit: z.number().int().min(1).max(16).default(1),
  labels: z.record(z.string().max(100), z.string().max(200)).optional(),
});
export const ExternalPollClaimResponse = z.strictObject({ polls: z.array(ClaimedExternalPoll) });

/**
 * `POST /work-pools/:pool/external-polls/:id/complete`: what one poll saw. `running` schedules the
 * next poll; an ending resolves the wait (and resumes a suspended run) in the same transaction;
 * `error` (the poll itself failed: the system was unreachable, the code threw) is retried with
 * backoff, and after MAX_FAILED_EXTERNAL_POLLS in a row the job counts as failed. A cancel reports
 * `cancelled` (the request was accepted) or `error`.
 */
export const ExternalPollCompleteRequest = z.strictObject({
  workerId: Id,
  leaseId: Id,
  outcome: z.union([
    z.strictObject({ state: z.literal('running'), message: z.string().max(2000).optional() }),
    ExternalJobOutcome,
    z.strictObject({ state: z.literal('error'), error: z.string().min(1).max(8_000) }),
  ]),
  logs: z.array(z.string().max(2_000)).max(200).default([]),
});
export type ExternalPollCompleteRequest = z.input<typeof ExternalPollCompleteRequest>;
export const ExternalPollParams = z.strictObject({ pool: Name, id: Id });
export const ExternalPollCompleteResponse = z.strictObject({
  /** The wait's status after the report. */
  status: WaitStatus,
  /** When the next poll is due; null once the wait no longer needs one. */
  nextPollAt: Timestamp.nullable(),
  /**
   * The same, as seconds from this answer (free of any difference between the worker's clock and
   * the server's): the worker asks for the poll then rather than at its next fixed claim. Absent
   * from older servers.
   */
  nextPollInSeconds: z.number().min(0).nullable().optional(),
});

/** Polls that fail in a row before an external job counts as failed. */
export const MAX_FAILED_EXTERNAL_POLLS = 10;

/** What `wait.for` returns: the matching event. */
export type WaitForResult = OutpostEvent;
