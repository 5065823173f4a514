import {
  type ArtifactType,
  type AssetAutomationPolicy,
  type AssetCheckDefinition,
  type AssetFreshnessPolicy,
  type AssignedResources,
  type AuditActorKind,
  type AutomationAction,
  type BackfillPartitionStatus,
  type BackfillStatus,
  type CatchupPolicy,
  type CheckSeverity,
  type CollisionStrategy,
  type EventSource,
  type EventWebhookTemplate,
  type FiringAction,
  HELD_STATES,
  type MemberRole,
  type MembershipState,
  type OidcConfig,
  type OrganisationRole,
  type PartitionsDefinition,
  type ResourceRequest,
  type Role,
  type SensorTickRun,
  type SensorTickStatus,
  type SessionMethod,
  type StateType,
  type Trigger,
  type WaitKind,
  type WaitSpec,
  type WaitStatus,
  type WorkerResources,
  type WorkerSilencePolicy,
  type WorkPoolType,
} from '@outpost/sdk/contracts';
import { type InferSelectModel, sql, type Table } from 'drizzle-orm';
import {
  type AnyPgColumn,
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { VISIBLE_EVENTS_SQL } from './event-index.js';
import { stateListSql } from './values.js';

/*
 * The tables as the SQL migrations in ./migrations build them, in TypeScript: the query modules take
 * their row types from here. The migrations are the schema (they also hold what this cannot say:
 * functions, triggers, data backfills); `npm run db:check` fails when the two disagree on a table,
 * column, default, index or constraint.
 */

/**
 * A row of `table` as a raw query (postgres.js) returns it: keyed by the database's column names.
 * The query modules pick the columns they select from it.
 */
export type Row<T extends Table> = InferSelectModel<T, { dbColumnNames: true }>;

/** JSON objects the API writes and reads back whole. */
type JsonObject = Record<string, unknown>;
/** Worker labels: names to values. */
type Labels = Record<string, string>;

/*
 * Every timestamp keeps millisecond precision: JavaScript dates carry milliseconds, so a value read
 * back and sent in a keyset cursor compares equal to the stored one (microseconds would not).
 */
const ts = <TName extends string>(name: TName) => timestamp(name, { withTimezone: true, precision: 3 });
/** bigserial: postgres.js reads int8 as a string, which stays exact beyond 2^53. */
const serial8 = <TName extends string>(name: TName) => bigserial(name, { mode: 'number' }).$type<string>();
const createdAt = () => ts('created_at').notNull().defaultNow();
const workspaceId = () =>
  uuid('workspace_id')
    .notNull()
    .references(() => workspaces.id);

/**
 * A company's set of workspaces and the people who run them (docs/organisations.md). An installation
 * from before organisations has one per workspace, named after it, its owners as the owners.
 */
export const organisations = pgTable('organisations', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  /**
   * The account that made it with its first workspace (`POST /workspaces`): every workspace made in
   * it counts against its creators' WORKSPACES_PER_ACCOUNT. Null for the bootstrap's, operators' and
   * those of workspaces from before organisations that nobody created through the API.
   */
  createdBy: uuid('created_by').references((): AnyPgColumn => users.id),
  createdAt: createdAt(),
});

/** A person's role in an organisation; every member of one of its workspaces holds at least `member`. */
export const organisationMembers = pgTable(
  'organisation_members',
  {
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    userId: uuid('user_id')
      .notNull()
      .references((): AnyPgColumn => users.id),
    role: text('role').$type<OrganisationRole>().notNull(),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.organisationId, t.userId] }),
    index('organisation_members_user_idx').on(t.userId),
    // The people list's pages, in the order they joined (migration 0057).
    index('organisation_members_joined_idx').on(t.organisationId, t.createdAt, t.userId),
    check('organisation_members_role_ck', sql`role IN ('owner', 'admin', 'auditor', 'member')`),
  ],
);

/** What an organisation token may do. */
export type OrganisationTokenScope = 'audit:read';

/**
 * A credential of an organisation rather than of a workspace or a person: a SIEM pulls the
 * organisation's audit export with one. Stored as sha256 only, like API keys.
 */
export const organisationTokens = pgTable(
  'organisation_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    name: text('name').notNull(),
    scopes: text('scopes').array().$type<OrganisationTokenScope[]>().notNull(),
    prefix: text('prefix').notNull(),
    tokenHash: text('token_hash').notNull(),
    createdBy: uuid('created_by').references((): AnyPgColumn => users.id),
    createdAt: createdAt(),
    expiresAt: ts('expires_at'),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
  },
  (t) => [
    uniqueIndex('organisation_tokens_hash_uq').on(t.tokenHash),
    index('organisation_tokens_organisation_idx').on(t.organisationId, t.createdAt),
    // Revoking the tokens of a maker who lost the role their scopes need (migration 0054).
    index('organisation_tokens_created_by_idx').on(t.createdBy).where(sql`created_by IS NOT NULL`),
  ],
);

/** The tenant. Every other table (but the server-wide signing keys) carries its id. */
export const workspaces = pgTable(
  'workspaces',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    slug: text('slug').notNull().unique(),
    name: text('name').notNull(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    /** The account that created it through the API (`POST /workspaces`); null for the bootstrap's and operators'. */
    createdBy: uuid('created_by').references((): AnyPgColumn => users.id),
    createdAt: createdAt(),
    /** Archived: history read-only, no schedules, automations, sensors or claims, until restored. */
    archivedAt: ts('archived_at'),
  },
  (t) => [
    index('workspaces_created_by_idx').on(t.createdBy).where(sql`created_by IS NOT NULL`),
    index('workspaces_organisation_idx').on(t.organisationId),
  ],
);

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    name: text('name').notNull(),
    role: text('role').$type<Role>().notNull(),
    prefix: text('prefix').notNull(),
    /** sha256 of the key; the key itself is never stored. */
    keyHash: text('key_hash').notNull(),
    /** For role `worker`: the pools it may poll; empty means all. */
    pools: text('pools').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
    expiresAt: ts('expires_at'),
    lastUsedAt: ts('last_used_at'),
    revokedAt: ts('revoked_at'),
    /**
     * The person the key answers to (identity/db/credentials.ts): whoever made it, or made the key that made
     * it; their leaving revokes it. Null for keys the bootstrap, an operator or a keyless key made.
     */
    createdBy: uuid('created_by').references((): AnyPgColumn => users.id),
  },
  (t) => [
    uniqueIndex('api_keys_key_hash_uq').on(t.keyHash),
    index('api_keys_workspace_idx').on(t.workspaceId, t.createdAt),
    index('api_keys_created_by_idx').on(t.createdBy).where(sql`created_by IS NOT NULL`),
  ],
);

export const flows = pgTable(
  'flows',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    name: text('name').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('flows_workspace_name_uq').on(t.workspaceId, t.name)],
);

export const workPools = pgTable(
  'work_pools',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    name: text('name').notNull(),
    description: text('description'),
    paused: boolean('paused').notNull().default(false),
    concurrencyLimit: integer('concurrency_limit'),
    /** Which executor the pool's workers run: a local process, or a Kubernetes Job per run attempt. */
    type: text('type').$type<WorkPoolType>().notNull().default('process'),
    /** Kubernetes pools: the batch/v1 Job manifest each run's Job starts from (validated at save); null uses the default. */
    baseJobTemplate: jsonb('base_job_template').$type<JsonObject>(),
    /** Most GPUs the pool's held runs may be assigned at once; null means no quota. */
    gpuQuota: integer('gpu_quota'),
    /** Most GPUs held at once by the pool's runs carrying each tag. */
    gpuQuotaByTag: jsonb('gpu_quota_by_tag').$type<Record<string, number>>().notNull().default({}),
    /**
     * When a worker falls silent: 'retry' crashes and retries its runs after lease + grace; 'wait'
     * waits `disconnectedToleranceSeconds` past the lease first, so a cut-off worker never runs beside the retry.
     */
    onWorkerSilence: text('on_worker_silence').$type<WorkerSilencePolicy>().notNull().default('retry'),
    /** How long a worker that cannot reach the API keeps running what it holds; null: as long as it takes. */
    disconnectedToleranceSeconds: integer('disconnected_tolerance_seconds').default(600),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('work_pools_workspace_name_uq').on(t.workspaceId, t.name),
    check('work_pools_type_ck', sql`type IN ('process', 'kubernetes')`),
    check('work_pools_on_worker_silence_ck', sql`on_worker_silence IN ('retry', 'wait')`),
    check('work_pools_disconnected_tolerance_ck', sql`disconnected_tolerance_seconds >= 0`),
  ],
);

export const workQueues = pgTable(
  'work_queues',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    workPoolId: uuid('work_pool_id')
      .notNull()
      .references(() => workPools.id),
    name: text('name').notNull(),
    /** 1 is the highest priority. */
    priority: integer('priority').notNull().default(1),
    paused: boolean('paused').notNull().default(false),
    concurrencyLimit: integer('concurrency_limit'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('work_queues_pool_name_uq').on(t.workPoolId, t.name)],
);

/**
 * What a run executes: a deployment's code (digest-pinned source, entrypoint), parameter schema and
 * job variables, one row per distinct content in a workspace (keyed by a sha256 of the four, key
 * order aside). A run points at the version it was created with, so a retry after a redeploy runs
 * the code of its first attempt. A reference rather than a copy on every run: with a 6 KB parameter
 * schema a copy per run costs 6 KB a run, the reference 16 bytes, and a redeploy that changes
 * nothing adds no row.
 */
export const deploymentVersions = pgTable(
  'deployment_versions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    contentHash: text('content_hash').notNull(),
    source: text('source').notNull(),
    entrypoint: text('entrypoint').notNull(),
    parameterSchema: jsonb('parameter_schema').$type<JsonObject>(),
    jobVariables: jsonb('job_variables').$type<JsonObject>().notNull().default({}),
    /** What the source is pinned to: `sha256:…` for OCI, the commit for git, null for a `dir:` source. */
    sourceDigest: text('source_digest'),
    /** The customer's signature of this version (a compact JWS, `outpost deploy --sign-key`); null when unsigned. */
    signature: text('signature'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('deployment_versions_content_uq').on(t.workspaceId, t.contentHash)],
);

export const deployments = pgTable(
  'deployments',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    flowId: uuid('flow_id')
      .notNull()
      .references(() => flows.id),
    name: text('name').notNull(),
    description: text('description'),
    source: text('source').notNull(),
    entrypoint: text('entrypoint').notNull(),
    parameterSchema: jsonb('parameter_schema').$type<JsonObject>(),
    parameters: jsonb('parameters').$type<JsonObject>().notNull().default({}),
    workPoolId: uuid('work_pool_id')
      .notNull()
      .references(() => workPools.id),
    workQueueId: uuid('work_queue_id')
      .notNull()
      .references(() => workQueues.id),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    /** Worker labels every run of this deployment requires. */
    labels: jsonb('labels').$type<Labels>().notNull().default({}),
    jobVariables: jsonb('job_variables').$type<JsonObject>().notNull().default({}),
    /** What each run asks of its worker (GPUs, memory, CPU slots); null for nothing. */
    resources: jsonb('resources').$type<ResourceRequest>(),
    retries: integer('retries').notNull().default(0),
    retryDelaySeconds: integer('retry_delay_seconds').notNull().default(0),
    /** Retry n waits retry_delay_seconds × retry_backoff^(n-1), stretched by a factor in [1, 1 + jitter]. */
    retryBackoff: doublePrecision('retry_backoff').notNull().default(1),
    retryJitter: doublePrecision('retry_jitter').notNull().default(0),
    /** Most runs of the deployment PENDING, RUNNING or CANCELLING at once; null means no limit. */
    concurrencyLimit: integer('concurrency_limit'),
    /** ENQUEUE (a due run waits for a slot) or CANCEL_NEW (a due run at the limit is cancelled). */
    collisionStrategy: text('collision_strategy').$type<CollisionStrategy>().notNull().default('ENQUEUE'),
    paused: boolean('paused').notNull().default(false),
    /** The version new runs get: the content of the last deploy. */
    versionId: uuid('version_id')
      .notNull()
      .references(() => deploymentVersions.id),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('deployments_flow_name_uq').on(t.flowId, t.name),
    index('deployments_workspace_idx').on(t.workspaceId),
    // The claim looks up the limited deployments of a workspace; most have none.
    index('deployments_limited_idx').on(t.workspaceId).where(sql`concurrency_limit IS NOT NULL`),
  ],
);

export const workers = pgTable(
  'workers',
  {
    workspaceId: workspaceId(),
    /** Generated by the worker process at start; unique only within a workspace. */
    id: uuid('id').notNull(),
    workPoolId: uuid('work_pool_id')
      .notNull()
      .references(() => workPools.id),
    name: text('name').notNull(),
    labels: jsonb('labels').$type<Labels>().notNull().default({}),
    capacity: integer('capacity').notNull(),
    /** What the worker last advertised: GPU devices, memory, CPU slots; null from workers that predate resources. */
    resources: jsonb('resources').$type<WorkerResources>(),
    /** The version the worker last reported in a heartbeat; null from workers that predate it. */
    version: text('version'),
    /** The API key the worker last called with; a worker key may act only on runs its workers hold. */
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id),
    lastHeartbeatAt: ts('last_heartbeat_at').notNull().defaultNow(),
    /** Set by the worker's last heartbeat when it stopped gracefully: OFFLINE at once; any later sign of life clears it. */
    stoppedAt: ts('stopped_at'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.id] }),
    index('workers_pool_idx').on(t.workPoolId, t.lastHeartbeatAt),
    index('workers_pool_name_idx').on(t.workPoolId, t.name),
  ],
);

export const flowRuns = pgTable(
  'flow_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    flowId: uuid('flow_id')
      .notNull()
      .references(() => flows.id),
    deploymentId: uuid('deployment_id').references(() => deployments.id),
    /**
     * The code the run executes, every attempt: set from the deployment when the run is created (a
     * trigger, so no path can forget it). Runs not yet claimed follow a redeploy; a claimed run never moves.
     */
    deploymentVersionId: uuid('deployment_version_id').references(() => deploymentVersions.id),
    /** When the run was first due: its expected start at creation, which retries do not move. */
    scheduledTime: ts('scheduled_time'),
    /** The schedule that created the run (a schedule fill or a backfill of it). */
    scheduleId: uuid('schedule_id'),
    workPoolId: uuid('work_pool_id').references(() => workPools.id),
    workQueueId: uuid('work_queue_id').references(() => workQueues.id),
    name: text('name').notNull(),
    parameters: jsonb('parameters').$type<JsonObject>().notNull().default({}),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    /** Worker labels the run requires (copied from the deployment): claimable only when ⊆ the worker's. */
    labels: jsonb('labels').$type<Labels>().notNull().default({}),
    /** What the run asks of its worker: its own request, else its deployment's at creation (a trigger). */
    resources: jsonb('resources').$type<ResourceRequest>(),
    stateType: text('state_type').$type<StateType>().notNull(),
    stateName: text('state_name').notNull(),
    stateMessage: text('state_message'),
    stateTimestamp: ts('state_timestamp').notNull().defaultNow(),
    stateData: jsonb('state_data'),
    /** Starts at 1; the lease's fencing token. */
    attempt: integer('attempt').notNull().default(1),
    maxRetries: integer('max_retries').notNull().default(0),
    retryDelaySeconds: integer('retry_delay_seconds').notNull().default(0),
    /** Copied from the deployment when the run is created, like max_retries and retry_delay_seconds. */
    retryBackoff: doublePrecision('retry_backoff').notNull().default(1),
    retryJitter: doublePrecision('retry_jitter').notNull().default(0),
    expectedStartTime: ts('expected_start_time').notNull().defaultNow(),
    startTime: ts('start_time'),
    endTime: ts('end_time'),
    workerId: uuid('worker_id'),
    leaseExpiresAt: ts('lease_expires_at'),
    idempotencyKey: text('idempotency_key'),
    /** The backfill that created the run; its max_concurrent caps the claim. */
    backfillId: uuid('backfill_id').references(() => backfills.id),
    /** Subflows: the run this one was called from, and the parent's task run that stands for the call. */
    parentFlowRunId: uuid('parent_flow_run_id'),
    parentTaskRunId: uuid('parent_task_run_id'),
    /**
     * Subflows: the claimed run whose process runs this one (the top of its tree). Its run token may
     * write to this run, and its heartbeat renews this run's lease along with its own.
     */
    rootFlowRunId: uuid('root_flow_run_id'),
    /** The partition the run works on (`runContext().partitionKey`); subflow runs take their parent's. */
    partitionKey: text('partition_key'),
    /** Attempts that began by resuming the run from a suspension: they spend no retry. */
    resumes: integer('resumes').notNull().default(0),
    /** The run whose manifest this one was created from ("Reproduce"). */
    reproducedFromId: uuid('reproduced_from_id'),
    /** The automations whose actions made or last changed the run, oldest first: its events carry the chain. */
    causation: jsonb('causation').$type<{ chain: string[] }>(),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // Backfill progress and its max_concurrent count a backfill's runs by state.
    index('flow_runs_backfill_idx').on(t.backfillId, t.stateType).where(sql`backfill_id IS NOT NULL`),
    // The claim finds the backfills with due runs in a pool (only backfill runs are indexed).
    index('flow_runs_backfill_due_idx')
      .on(t.workPoolId, t.expectedStartTime)
      .where(sql`backfill_id IS NOT NULL AND state_type = 'SCHEDULED'`),
    // The claim reads only due SCHEDULED runs of one pool; a partial index keeps it small however many runs finished.
    index('flow_runs_claim_idx').on(t.workPoolId, t.expectedStartTime).where(sql`state_type = 'SCHEDULED'`),
    // Concurrency limits count the active runs of a pool or queue.
    index('flow_runs_active_idx')
      .on(t.workPoolId, t.workQueueId)
      .where(sql.raw(`state_type IN ${stateListSql(HELD_STATES)}`)),
    // Deployment and tag limits count the active runs of a deployment, or of a workspace carrying a tag.
    index('flow_runs_active_deployment_idx')
      .on(t.deploymentId)
      .where(sql.raw(`state_type IN ${stateListSql(HELD_STATES)}`)),
    index('flow_runs_active_workspace_idx')
      .on(t.workspaceId)
      .where(sql.raw(`state_type IN ${stateListSql(HELD_STATES)}`)),
    // A claim reads each queue's earliest due runs in order and stops after the few it can take.
    index('flow_runs_queue_due_idx').on(t.workQueueId, t.expectedStartTime, t.id).where(sql`state_type = 'SCHEDULED'`),
    // A claim settles (cancels or renames) held-back runs of its pool that are not yet AwaitingConcurrencySlot.
    index('flow_runs_unsettled_idx')
      .on(t.workPoolId, t.expectedStartTime)
      .where(sql`state_type = 'SCHEDULED' AND state_name <> 'AwaitingConcurrencySlot'`),
    // The late loop reads due runs waiting under their plain names, oldest first, across pools.
    // The claim's lock statement asks whether a pool has due runs with a resource request; most have none.
    index('flow_runs_resources_due_idx')
      .on(t.workPoolId, t.expectedStartTime)
      .where(sql`state_type = 'SCHEDULED' AND resources IS NOT NULL`),
    index('flow_runs_late_idx')
      .on(t.expectedStartTime)
      .where(sql`state_type = 'SCHEDULED' AND state_name IN ('Scheduled', 'AwaitingRetry')`),
    // The lease loop scans only held runs.
    index('flow_runs_lease_idx')
      .on(t.leaseExpiresAt)
      .where(sql.raw(`state_type IN ${stateListSql(HELD_STATES)}`)),
    // Read backwards for the newest-first keyset listing.
    index('flow_runs_list_idx').on(t.workspaceId, t.createdAt, t.id),
    // The quota on runs automations create counts a workspace's last minute of them.
    index('flow_runs_caused_idx').on(t.workspaceId, t.createdAt).where(sql`causation IS NOT NULL`),
    index('flow_runs_deployment_idx').on(t.deploymentId, t.createdAt),
    // Dashboard statistics: a window of expected start times, counted by state and deployment from the index alone.
    index('flow_runs_stats_idx').on(t.workspaceId, t.expectedStartTime, t.stateType, t.deploymentId),
    // Dashboard statistics: the workspace's Late runs, longest waiting first.
    index('flow_runs_workspace_late_idx')
      .on(t.workspaceId, t.expectedStartTime)
      .where(sql`state_type = 'SCHEDULED' AND state_name = 'Late'`),
    uniqueIndex('flow_runs_idempotency_uq').on(t.workspaceId, t.deploymentId, t.idempotencyKey),
    // A run's subflow runs, and the active subflow runs a lease renewal carries along.
    index('flow_runs_parent_idx').on(t.parentFlowRunId, t.createdAt).where(sql`parent_flow_run_id IS NOT NULL`),
    index('flow_runs_root_idx').on(t.rootFlowRunId).where(sql`root_flow_run_id IS NOT NULL`),
    // A run named on the command line (`outpost runs get calm-otter`): its workspace's runs of that name, newest first.
    index('flow_runs_name_idx').on(t.workspaceId, t.name, t.createdAt),
    // The runs list filtered by a tag (`tags @> ARRAY[tag]`): a rare tag no longer reads every run.
    index('flow_runs_tags_idx').using('gin', t.tags),
    // A run's reproductions, newest last.
    index('flow_runs_reproduced_from_idx').on(t.reproducedFromId, t.createdAt).where(sql`reproduced_from_id IS NOT NULL`),
    check('flow_runs_deployment_version_ck', sql`deployment_id IS NULL OR deployment_version_id IS NOT NULL`),
  ],
);

export const flowRunStates = pgTable(
  'flow_run_states',
  {
    /** Orders the history: states appended in one transaction share a timestamp. */
    seq: serial8('seq').primaryKey(),
    id: uuid('id').notNull().defaultRandom(),
    workspaceId: workspaceId(),
    flowRunId: uuid('flow_run_id')
      .notNull()
      .references(() => flowRuns.id),
    attempt: integer('attempt').notNull(),
    type: text('type').$type<StateType>().notNull(),
    name: text('name').notNull(),
    message: text('message'),
    data: jsonb('data'),
    timestamp: ts('timestamp').notNull().defaultNow(),
    /** The client's id for the proposal that produced this state; a repeat replays `response`. */
    transitionId: uuid('transition_id'),
    response: jsonb('response'),
  },
  (t) => [
    uniqueIndex('flow_run_states_id_uq').on(t.id),
    uniqueIndex('flow_run_states_transition_uq').on(t.flowRunId, t.transitionId),
    index('flow_run_states_run_idx').on(t.flowRunId, t.seq),
  ],
);

/**
 * Partitioned by month of `created_at` (migration 0045; drizzle cannot say so, the migrations do), so
 * the key holds it and an id is unique within a month. Every task run's `created_at` is at or after
 * its flow run's, so a statement looking task runs up by id bounds `created_at` from below by the
 * flow run's creation and probes only the months since (runs/db/task-runs.ts, runs/db/task-run-batches.ts).
 */
export const taskRuns = pgTable(
  'task_runs',
  {
    /** Generated by the runtime, so a retried create is idempotent. */
    id: uuid('id').notNull(),
    workspaceId: workspaceId(),
    flowRunId: uuid('flow_run_id')
      .notNull()
      .references(() => flowRuns.id),
    flowRunAttempt: integer('flow_run_attempt').notNull(),
    name: text('name').notNull(),
    taskKey: text('task_key').notNull(),
    dynamicKey: text('dynamic_key').notNull(),
    runCount: integer('run_count').notNull().default(1),
    cacheKey: text('cache_key'),
    stateType: text('state_type').$type<StateType>().notNull(),
    stateName: text('state_name').notNull(),
    stateMessage: text('state_message'),
    stateTimestamp: ts('state_timestamp').notNull().defaultNow(),
    stateData: jsonb('state_data'),
    /** The sequence number of the last event applied (0: the creation); older or repeated ones change nothing. */
    stateSeq: integer('state_seq').notNull().default(0),
    startTime: ts('start_time'),
    endTime: ts('end_time'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.id, t.createdAt] }), index('task_runs_flow_run_idx').on(t.flowRunId, t.createdAt, t.id)],
);

/**
 * Append-only; `(flow_run_id, attempt, seq)` identifies a line, and with its timestamp (which a
 * retried batch repeats) it is the key, so a retried batch stores nothing twice. Partitioned by
 * month of `timestamp` (migration 0042; drizzle cannot say so, the migrations do): retention drops
 * whole months (`table_partitions`, db/partitions.ts).
 */
export const logs = pgTable(
  'logs',
  {
    flowRunId: uuid('flow_run_id').notNull(),
    attempt: integer('attempt').notNull(),
    seq: integer('seq').notNull(),
    workspaceId: workspaceId(),
    timestamp: ts('timestamp').notNull(),
    level: text('level').notNull(),
    message: text('message').notNull(),
    taskRunId: uuid('task_run_id'),
    stream: text('stream').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.flowRunId, t.attempt, t.seq, t.timestamp] })],
);

/**
 * The partitions of the tables partitioned by month (`logs`, `events`, `task_runs`; db/partitions.ts) and the
 * times each holds, `starts` inclusive, `ends` exclusive (a table's first starts at -infinity).
 */
export const tablePartitions = pgTable('table_partitions', {
  name: text('name').primaryKey(),
  starts: ts('starts').notNull(),
  ends: ts('ends').notNull(),
  /** Detached by retention, its rows no longer part of its table; dropped next (its files removed). */
  detached: boolean('detached').notNull().default(false),
  /** The partitioned table it is a partition of. */
  parent: text('parent').notNull(),
});

/** Server-wide keys that sign run tokens; retired keys still verify until tokens signed with them expire. */
export const signingKeys = pgTable('signing_keys', {
  kid: text('kid').primaryKey(),
  privateJwk: jsonb('private_jwk').notNull(),
  publicJwk: jsonb('public_jwk').notNull(),
  createdAt: createdAt(),
  /**
   * When the key starts signing; until then it is only published in the JWKS, so every verifier
   * (other replicas, caches of the JWKS document) knows it before the first token it signs. Null: at creation.
   */
  activatesAt: ts('activates_at'),
  /** When the key stops signing (may lie in the future during a rotation); it verifies for a day longer. */
  retiredAt: ts('retired_at'),
});

// ---- global concurrency limits by tag ----

/**
 * At most `limit` runs carrying `tag` hold a slot (PENDING, RUNNING, CANCELLING) at once across the
 * workspace. Only the limit is stored: slots are counted from the runs, so none can leak.
 */
export const concurrencyLimits = pgTable(
  'concurrency_limits',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    tag: text('tag').notNull(),
    limit: integer('limit').notNull(),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('concurrency_limits_workspace_tag_uq').on(t.workspaceId, t.tag)],
);

// ---- dashboard: browser sessions and one-time sign-in links ----

/**
 * A browser session: the cookie holds a random token, only its sha256 is stored, like the CSRF
 * token's. It acts with the role of the API key or sign-in link that opened it, in one workspace,
 * and dies with that API key (revoked or expired), after 12 idle hours, or 7 days after it opened.
 */
export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    tokenHash: text('token_hash').notNull(),
    csrfHash: text('csrf_hash').notNull(),
    role: text('role').$type<Role>().notNull(),
    /** How the session was opened, for people reading a list: `API key "ci"`, `sign-in link`. */
    label: text('label').notNull(),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id),
    /** A user's session (password or single sign-on) acts with the user's current membership role. */
    userId: uuid('user_id').references(() => users.id),
    /** How a person's session was opened (`password`, `single-sign-on`); null for other sessions. */
    openedBy: text('opened_by').$type<SessionMethod>(),
    createdAt: createdAt(),
    lastSeenAt: ts('last_seen_at').notNull().defaultNow(),
    expiresAt: ts('expires_at').notNull(),
    revokedAt: ts('revoked_at'),
  },
  (t) => [
    uniqueIndex('sessions_token_hash_uq').on(t.tokenHash),
    index('sessions_api_key_idx').on(t.apiKeyId),
    index('sessions_user_idx').on(t.userId),
  ],
);

/** A one-time sign-in link's token (sha256 only); consumed atomically by the first sign-in. */
export const signInTokens = pgTable(
  'sign_in_tokens',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    tokenHash: text('token_hash').notNull(),
    role: text('role').$type<Role>().notNull(),
    /** The person the link signs in as (their membership's role then applies); null: a session of `role` alone. */
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
  },
  (t) => [uniqueIndex('sign_in_tokens_token_hash_uq').on(t.tokenHash)],
);

// ---- scheduling: deployment schedules and backfills ----

/**
 * A cron or interval schedule of a deployment. The scheduler materialises its runs ahead with the
 * idempotency key `scheduled:<slug>:<time>`, so a slug that survives redeploys never duplicates a run.
 */
export const deploymentSchedules = pgTable(
  'deployment_schedules',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => deployments.id),
    slug: text('slug').notNull(),
    /** Where the deploy declared it: lists and backfills without a named schedule go by it. */
    position: integer('position').notNull().default(0),
    /** Exactly one of cron (with timezone) or interval_seconds (with anchor_date) is set. */
    cron: text('cron'),
    timezone: text('timezone'),
    intervalSeconds: integer('interval_seconds'),
    anchorDate: ts('anchor_date'),
    active: boolean('active').notNull().default(true),
    parameters: jsonb('parameters').$type<JsonObject>().notNull().default({}),
    /** all | latest | none: what happens to times missed while no scheduler ran. */
    catchup: text('catchup').$type<CatchupPolicy>().notNull().default('latest'),
    /** The partitions definition its runs and its deployment's backfills work on; null for none. */
    partitions: jsonb('partitions').$type<PartitionsDefinition>(),
    /** Every scheduled time up to here has its run or was skipped; null until the first fill. */
    filledUntil: ts('filled_until'),
    /** When the scheduler next has work for this schedule; 'infinity' while it or its deployment is paused. */
    nextFillAt: ts('next_fill_at').notNull().defaultNow(),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('deployment_schedules_slug_uq').on(t.deploymentId, t.slug),
    // The scheduler reads only the active schedules that are due for a fill.
    index('deployment_schedules_due_idx').on(t.nextFillAt).where(sql`active`),
  ],
);

/**
 * A lazy backfill: what it covers (`selection` over a schedule's times or a partitions definition,
 * for a deployment or for assets) and how far it got: the first `position` of its `partition_count`
 * units have had a run created. The backfill loop creates the next ones, at most max_concurrent in
 * flight, under this row's lock.
 */
export const backfills = pgTable(
  'backfills',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => deployments.id),
    /** 'deployment' or 'assets'. */
    target: text('target').$type<'deployment' | 'assets'>().notNull().default('deployment'),
    /** An asset backfill's selection, in dependency order. */
    assetKeys: text('asset_keys').array(),
    /** The schedule a deployment backfill fills (its parameters, its times or its partitions). */
    scheduleSlug: text('schedule_slug'),
    /** A backfill over scheduled times: [range_start, range_end). */
    rangeStart: ts('range_start'),
    rangeEnd: ts('range_end'),
    /** The partitions definition its keys come from, as it was at creation. */
    partitions: jsonb('partitions').$type<PartitionsDefinition>(),
    /** `{times: {start, end}}`, `{keys: [...]}` or `{range: {start, end}}`, in the contract's BackfillSelection shape. */
    selection: jsonb('selection').$type<JsonObject>().notNull().default({}),
    /** One run over the whole range (assets that accept ranges). */
    singleRun: boolean('single_run').notNull().default(false),
    /** An asset backfill that runs its assets' checks only. */
    checksOnly: boolean('checks_only').notNull().default(false),
    maxConcurrent: integer('max_concurrent').notNull(),
    parameters: jsonb('parameters').$type<JsonObject>().notNull().default({}),
    /** Runs created so far. */
    runCount: integer('run_count').notNull(),
    /** Units (partitions or scheduled times) it covers, and how many have had a run created. */
    partitionCount: integer('partition_count').notNull().default(0),
    position: integer('position').notNull().default(0),
    status: text('status').$type<BackfillStatus>().notNull().default('RUNNING'),
    /** Why it failed without finishing. */
    message: text('message'),
    /**
     * The claim caps its runs at max_concurrent: a backfill made before backfills were lazy, with
     * every run created up front. A lazy one keeps its own runs in flight within max_concurrent.
     */
    claimCapped: boolean('claim_capped').notNull().default(false),
    createdAt: createdAt(),
    cancelledAt: ts('cancelled_at'),
    pausedAt: ts('paused_at'),
    finishedAt: ts('finished_at'),
  },
  (t) => [
    index('backfills_deployment_idx').on(t.deploymentId, t.createdAt, t.id),
    index('backfills_workspace_idx').on(t.workspaceId, t.createdAt, t.id),
    // The loop reads only the backfills still creating runs.
    index('backfills_running_idx').on(t.id).where(sql`status = 'RUNNING'`),
  ],
);

/**
 * One partition (or scheduled time) of a backfill, written when its first run is created (or when it
 * is found BLOCKED), so a backfill of 100,000 partitions holds only the rows it reached. `ordinal` is
 * its place in the backfill's order; its status follows its run's state (trigger of migration 0018).
 */
export const backfillPartitions = pgTable(
  'backfill_partitions',
  {
    workspaceId: workspaceId(),
    backfillId: uuid('backfill_id')
      .notNull()
      .references(() => backfills.id),
    ordinal: integer('ordinal').notNull(),
    partitionKey: text('partition_key').notNull(),
    status: text('status').$type<BackfillPartitionStatus>().notNull(),
    /** Its latest run; null when it was BLOCKED before any run. */
    flowRunId: uuid('flow_run_id').references(() => flowRuns.id),
    runs: integer('runs').notNull().default(0),
    /** retry-failed asked for a new run, which the loop has not created yet. */
    requeued: boolean('requeued').notNull().default(false),
    message: text('message'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.backfillId, t.ordinal] }),
    uniqueIndex('backfill_partitions_key_uq').on(t.backfillId, t.partitionKey),
    // Counts by status, and a status filter paged in order.
    index('backfill_partitions_status_idx').on(t.backfillId, t.status, t.ordinal),
    index('backfill_partitions_requeued_idx').on(t.backfillId, t.ordinal).where(sql`requeued`),
    // The trigger finds a run's partition.
    index('backfill_partitions_run_idx').on(t.flowRunId),
  ],
);

// ---- governance: users, memberships, single sign-on, audit log ----

/**
 * A person. Accounts are global; what they may do is decided per workspace by their membership.
 * An account a workspace's admin created is managed by that workspace (`managed_by`): its admins
 * may set its password, so it signs in there only, until the person proves control of the address
 * (`email_verified_at`; then `managed_by` is null, and nobody but the person sets its password).
 */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Lowercased; the sign-in name. */
    email: text('email').notNull(),
    name: text('name'),
    /** `scrypt$N$r$p$salt$hash`; null until a password is set (or for single sign-on only). */
    passwordHash: text('password_hash'),
    passwordChangedAt: ts('password_changed_at'),
    /** When the person proved control of the address (an emailed link, or single sign-on with a verified email). */
    emailVerifiedAt: ts('email_verified_at'),
    /** The workspace whose admins created the account and may set its password; null once verified or released. */
    managedBy: uuid('managed_by').references(() => workspaces.id),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('users_email_uq').on(t.email)],
);

export const memberships = pgTable(
  'memberships',
  {
    workspaceId: workspaceId(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    role: text('role').$type<MemberRole>().notNull(),
    /** `active`, or `invited`: an invitation the account has not accepted, which grants nothing. */
    state: text('state').$type<MembershipState>().notNull().default('active'),
    /**
     * `direct`: given by hand (or an invitation), which the directory never touches; `directory`: what
     * the person's directory groups grant, which applyDirectoryRoles (db/directory.ts) keeps in step.
     */
    source: text('source').$type<MembershipSource>().notNull().default('direct'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.userId] }),
    index('memberships_user_idx').on(t.userId),
    check('memberships_source_ck', sql`source IN ('direct', 'directory')`),
  ],
);

// ---- directory: people and groups an organisation's identity provider provisions (SCIM) ----

/** Where a membership comes from: a person's hand, or the directory's groups. */
export type MembershipSource = 'direct' | 'directory';

/** What a directory group grants in a workspace: never `owner`, which stays a person's own grant. */
export type DirectoryGroupRoleName = 'admin' | 'developer' | 'runner' | 'viewer';

/**
 * A person as the organisation's directory provisioned them (SCIM `/Users`): the account is global
 * and the person's own; this row is the organisation's view of it. `attributes` holds the SCIM
 * attributes kept as sent (name, emails, enterprise extension…), bounded in size.
 *
 * A person at an address outside the organisation's proven domains is **pending** (`pendingEmail`
 * set): no account is made or linked, and `userId` is an id of the directory's own that names no
 * account, until the person accepts (db/directory.ts claimPendingDirectoryPerson). So `userId`
 * has no foreign key: it names the account of a linked record only.
 */
export const directoryUsers = pgTable(
  'directory_users',
  {
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    /** The account of a linked person; the directory's own id of a pending one. */
    userId: uuid('user_id').notNull(),
    /** The id the directory knows a person by when it is not `userId`: a pending person who accepted. */
    scimId: uuid('scim_id'),
    /** The address of a pending person, awaiting its person's acceptance; null once linked to an account. */
    pendingEmail: text('pending_email'),
    userName: text('user_name').notNull(),
    externalId: text('external_id'),
    /** False once the directory deactivated the person: they hold nothing in the organisation until reactivated. */
    active: boolean('active').notNull().default(true),
    /**
     * The directory made the account. Only such an account becomes a person of the organisation by
     * being provisioned; one its person made is offered the groups' roles as invitations.
     */
    accountMade: boolean('account_made').notNull().default(false),
    attributes: jsonb('attributes').$type<JsonObject>().notNull().default({}),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.organisationId, t.userId] }),
    uniqueIndex('directory_users_user_name_uq').on(t.organisationId, sql`lower(user_name)`),
    index('directory_users_external_id_idx').on(t.organisationId, t.externalId).where(sql`external_id IS NOT NULL`),
    index('directory_users_user_idx').on(t.userId),
    uniqueIndex('directory_users_pending_email_uq').on(t.pendingEmail, t.organisationId).where(sql`pending_email IS NOT NULL`),
    uniqueIndex('directory_users_scim_id_uq').on(t.organisationId, t.scimId).where(sql`scim_id IS NOT NULL`),
    check('directory_users_attributes_ck', sql`octet_length(attributes::text) <= 65536`),
    check('directory_users_pending_ck', sql`pending_email IS NULL OR (scim_id IS NULL AND NOT account_made)`),
  ],
);

/** A group of the organisation's directory (SCIM `/Groups`); its members get what directory_group_roles grant. */
export const directoryGroups = pgTable(
  'directory_groups',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    displayName: text('display_name').notNull(),
    externalId: text('external_id'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('directory_groups_display_name_uq').on(t.organisationId, sql`lower(display_name)`),
    index('directory_groups_external_id_idx').on(t.organisationId, t.externalId).where(sql`external_id IS NOT NULL`),
  ],
);

/** Who is in a directory group: a person's directory_users.user_id (an account's, or a pending person's own id). */
export const directoryGroupMembers = pgTable(
  'directory_group_members',
  {
    groupId: uuid('group_id')
      .notNull()
      .references(() => directoryGroups.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull(),
  },
  (t) => [primaryKey({ columns: [t.groupId, t.userId] }), index('directory_group_members_user_idx').on(t.userId)],
);

/** The role a directory group grants its members in one workspace of its organisation. */
export const directoryGroupRoles = pgTable(
  'directory_group_roles',
  {
    groupId: uuid('group_id')
      .notNull()
      .references(() => directoryGroups.id, { onDelete: 'cascade' }),
    workspaceId: workspaceId(),
    role: text('role').$type<DirectoryGroupRoleName>().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.groupId, t.workspaceId] }),
    index('directory_group_roles_workspace_idx').on(t.workspaceId),
    check('directory_group_roles_role_ck', sql`role IN ('admin', 'developer', 'runner', 'viewer')`),
  ],
);

/** An organisation's own OpenID Connect provider, trusted across its workspaces for `allowed_domains` only. */
export const organisationSso = pgTable('organisation_sso', {
  organisationId: uuid('organisation_id')
    .primaryKey()
    .references(() => organisations.id),
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  /** AES-256-GCM under OUTPOST_SECRET_KEY; null for a public client (PKCE alone). */
  clientSecretEncrypted: text('client_secret_encrypted'),
  allowedDomains: text('allowed_domains').array().notNull(),
  /** The ID token claim listing the person's groups. */
  groupsClaim: text('groups_claim').notNull().default('groups'),
  createdAt: createdAt(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/**
 * An allowed domain of the organisation's single sign-on and what proves it: a TXT record with `token`.
 * A proven domain is one organisation's at a time.
 */
export const organisationDomains = pgTable(
  'organisation_domains',
  {
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    domain: text('domain').notNull(),
    token: text('token').notNull(),
    verifiedAt: ts('verified_at'),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.organisationId, t.domain] }),
    uniqueIndex('organisation_domains_verified_uq').on(t.domain).where(sql`verified_at IS NOT NULL`),
  ],
);

/** The role a value of the organisation's groups claim grants in one of its workspaces. */
export const organisationSsoGroupRoles = pgTable(
  'organisation_sso_group_roles',
  {
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    groupValue: text('group_value').notNull(),
    workspaceId: workspaceId(),
    role: text('role').$type<DirectoryGroupRoleName>().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.organisationId, t.groupValue, t.workspaceId] }),
    index('organisation_sso_group_roles_workspace_idx').on(t.workspaceId),
    check('organisation_sso_group_roles_role_ck', sql`role IN ('admin', 'developer', 'runner', 'viewer')`),
  ],
);

/** A person's groups as their last sign-in with the organisation's provider listed them. */
export const organisationSsoGroups = pgTable(
  'organisation_sso_groups',
  {
    organisationId: uuid('organisation_id')
      .notNull()
      .references(() => organisations.id),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    groupValue: text('group_value').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.organisationId, t.userId, t.groupValue] }),
    index('organisation_sso_groups_group_idx').on(t.organisationId, t.groupValue),
  ],
);

/** One-time tokens (sha256 only) with which a new member sets a first password, or a member a reset one. */
export const passwordSetupTokens = pgTable(
  'password_setup_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    /** The workspace whose owner or admin issued it. */
    workspaceId: workspaceId(),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
  },
  (t) => [index('password_setup_tokens_user_idx').on(t.userId)],
);

/**
 * Links emailed to an account's address (sha256 only): using one proves control of the address and
 * accepts the invitation of `workspace_id`, if any. Never shown to anyone but the address.
 */
export const emailTokens = pgTable(
  'email_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    /** The address the link was sent to: it proves nothing about another one. */
    email: text('email').notNull(),
    /** The workspace whose invitation the link accepts; null for a plain verification. */
    workspaceId: uuid('workspace_id').references(() => workspaces.id),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
    usedAt: ts('used_at'),
    /** `confirm` (confirmation or invitation link, /auth/email/confirm) or `password_reset` (/auth/password-reset/confirm). */
    purpose: text('purpose').$type<'confirm' | 'password_reset'>().notNull().default('confirm'),
  },
  (t) => [index('email_tokens_user_idx').on(t.userId), index('email_tokens_expiry_idx').on(t.expiresAt)],
);

/** A workspace's OpenID Connect provider for single sign-on. */
export const oidcProviders = pgTable('oidc_providers', {
  workspaceId: uuid('workspace_id')
    .primaryKey()
    .references(() => workspaces.id),
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  /** AES-256-GCM under OUTPOST_SECRET_KEY; null for a public client (PKCE alone). */
  clientSecretEncrypted: text('client_secret_encrypted'),
  /** Role for a first sign-in of someone who is not a member yet; null admits members only. */
  defaultRole: text('default_role').$type<NonNullable<OidcConfig['defaultRole']>>(),
  /** Email domains a first sign-in must come from to be admitted with `default_role`. */
  allowedDomains: text('allowed_domains').array().notNull().default(sql`'{}'::text[]`),
  createdAt: createdAt(),
  updatedAt: ts('updated_at').notNull().defaultNow(),
});

/** A person's account at an issuer (iss, sub), linked to their user at the first single sign-on. */
export const userIdentities = pgTable(
  'user_identities',
  {
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.issuer, t.subject] }), index('user_identities_user_idx').on(t.userId)],
);

/** Single sign-ons under way: state (sha256), nonce and PKCE verifier, used once within minutes. */
export const oidcLogins = pgTable(
  'oidc_logins',
  {
    stateHash: text('state_hash').primaryKey(),
    /** A workspace's sign-in: its workspace; the organisation's: the workspace asked for, if any. */
    workspaceId: uuid('workspace_id').references(() => workspaces.id),
    /** Set for a sign-in with the organisation's provider (organisation_sso). */
    organisationId: uuid('organisation_id').references(() => organisations.id),
    nonce: text('nonce').notNull(),
    codeVerifier: text('code_verifier').notNull(),
    /** Dashboard path to land on after signing in. */
    returnTo: text('return_to').notNull(),
    createdAt: createdAt(),
    expiresAt: ts('expires_at').notNull(),
  },
  (t) => [
    index('oidc_logins_expiry_idx').on(t.expiresAt),
    check('oidc_logins_whose_ck', sql`organisation_id IS NOT NULL OR workspace_id IS NOT NULL`),
  ],
);

/** Every audited call. Append-only: a trigger refuses UPDATE, DELETE and TRUNCATE (see the migration). */
export const auditLog = pgTable(
  'audit_log',
  {
    id: serial8('id').primaryKey(),
    workspaceId: workspaceId(),
    occurredAt: ts('occurred_at').notNull().defaultNow(),
    actorKind: text('actor_kind').$type<AuditActorKind>().notNull(),
    actorId: uuid('actor_id'),
    action: text('action').notNull(),
    method: text('method'),
    path: text('path'),
    status: integer('status').notNull(),
    clientAddress: text('client_address'),
    userAgent: text('user_agent'),
    requestId: text('request_id'),
    targetIds: jsonb('target_ids').$type<Record<string, string>>().notNull().default({}),
    resultIds: jsonb('result_ids').$type<Record<string, string>>().notNull().default({}),
    /** Every id of target_ids and result_ids, for the `objectId` filter. */
    objectIds: text('object_ids').array().notNull().default(sql`'{}'::text[]`),
    summary: jsonb('summary').$type<JsonObject>().notNull().default({}),
    /**
     * The entry's place in its workspace's hash chain (1, 2, …), and the chain's hash before and
     * after it: `hash = sha256(prev ‖ the entry's canonical text)`, written by a trigger that holds
     * the workspace's head (audit_chain_heads) until the entry commits. See migration 0047.
     */
    chainSeq: bigint('chain_seq', { mode: 'number' }).$type<string>().notNull(),
    chainPrev: text('chain_prev').notNull(),
    chainHash: text('chain_hash').notNull(),
  },
  (t) => [
    index('audit_log_workspace_idx').on(t.workspaceId, t.id),
    index('audit_log_objects_idx').using('gin', t.objectIds),
    uniqueIndex('audit_log_chain_uq').on(t.workspaceId, t.chainSeq),
  ],
);

/** The newest entry of each workspace's audit chain: the row its next entry locks and extends. */
export const auditChainHeads = pgTable('audit_chain_heads', {
  workspaceId: uuid('workspace_id')
    .primaryKey()
    .references(() => workspaces.id),
  seq: bigint('seq', { mode: 'number' }).$type<string>().notNull(),
  hash: text('hash').notNull(),
});

// ---- artifacts: reports, tables, links and progress a run publishes ----

/**
 * One artifact of a run. `data` is bounded (256 KiB) and already redacted by the worker. A progress
 * artifact is one row per (run, key), updated in place; every other artifact is a row of its own, so
 * a key's history is kept and the latest is the most recently updated row.
 */
export const artifacts = pgTable(
  'artifacts',
  {
    /** Generated by the runtime, so a retried create is idempotent. */
    id: uuid('id').primaryKey(),
    workspaceId: workspaceId(),
    flowRunId: uuid('flow_run_id')
      .notNull()
      .references(() => flowRuns.id),
    taskRunId: uuid('task_run_id'),
    key: text('key').notNull(),
    type: text('type').$type<ArtifactType>().notNull(),
    description: text('description'),
    data: jsonb('data').notNull(),
    /**
     * Taken from a sequence on every insert and update: "latest" must not depend on two writes
     * landing in different milliseconds.
     */
    version: serial8('version').notNull(),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('artifacts_run_idx').on(t.flowRunId, t.createdAt),
    // Latest by key: walk one key's rows newest first.
    index('artifacts_key_version_idx').on(t.workspaceId, t.key, t.version),
    uniqueIndex('artifacts_progress_uq').on(t.flowRunId, t.key).where(sql`type = 'progress'`),
  ],
);

/**
 * One row per attempt a worker claimed: who ran it (worker, name, the API key it claimed with) and
 * when. The run row holds only its current attempt; this is the history, and what lets a worker key
 * deliver a run's late log lines after the run has moved on (they are history too).
 */
export const flowRunAttempts = pgTable(
  'flow_run_attempts',
  {
    workspaceId: workspaceId(),
    flowRunId: uuid('flow_run_id').notNull(),
    attempt: integer('attempt').notNull(),
    workerId: uuid('worker_id').notNull(),
    workerName: text('worker_name'),
    apiKeyId: uuid('api_key_id').references(() => apiKeys.id),
    claimedAt: ts('claimed_at').notNull(),
    /** The `sha256:…` of the code this attempt was handed (its run's version). */
    sourceDigest: text('source_digest'),
    /** When the attempt went RUNNING, and when it ended (a terminal state, or handed back for a retry). */
    startedAt: ts('started_at'),
    endedAt: ts('ended_at'),
    stateType: text('state_type').$type<StateType>(),
    stateName: text('state_name'),
    stateMessage: text('state_message'),
    /** The flow process's exit code, when the worker saw it exit before the attempt ended. */
    exitCode: integer('exit_code'),
    /** The devices, memory and CPU slots the claim handed this attempt; null when the run asked for none. */
    assignedResources: jsonb('assigned_resources').$type<AssignedResources>(),
    /** Where the attempt ran, as its worker reported it (`PUT /flow-runs/:id/attempts/:attempt/environment`). */
    workerVersion: text('worker_version'),
    executor: text('executor'),
    nodeVersion: text('node_version'),
    image: text('image'),
    imageDigest: text('image_digest'),
    environmentReportedAt: ts('environment_reported_at'),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.flowRunId, t.attempt] })],
);

/**
 * When each background loop last ran, by the database clock. A gap longer than a loop's interval
 * means the control plane (or its database) was away: the lease loop then gives held leases a grace
 * period before expiring any, since workers could not renew them while it was gone.
 */
export const loopMarks = pgTable('loop_marks', {
  name: text('name').primaryKey(),
  tickedAt: ts('ticked_at').notNull(),
});

// ---- assets: the data a deployment's code produces, as metadata ----

/**
 * One asset of a workspace as the deployment that defines it registered it (`outpost deploy`). A key
 * is defined by one deployment at a time; a redeploy replaces the deployment's rows, and keys it no
 * longer sends are deleted here while their materialisations and check results stay.
 */
export const assetDefinitions = pgTable(
  'asset_definitions',
  {
    workspaceId: workspaceId(),
    key: text('key').notNull(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => deployments.id),
    codeVersion: text('code_version').notNull(),
    deps: text('deps').array().notNull().default(sql`'{}'::text[]`),
    /** A PartitionsDefinition; null for an unpartitioned asset. */
    partitions: jsonb('partitions').$type<PartitionsDefinition>(),
    checks: jsonb('checks').$type<AssetCheckDefinition[]>().notNull().default([]),
    owners: text('owners').array().notNull().default(sql`'{}'::text[]`),
    tags: text('tags').array().notNull().default(sql`'{}'::text[]`),
    groupName: text('group_name'),
    io: text('io'),
    acceptsRange: boolean('accepts_range').notNull().default(false),
    description: text('description'),
    /** Where the code defines it (`assets.ts:12`), for messages naming it. */
    definedAt: text('defined_at'),
    /** An AssetAutomationPolicy: when the control plane materialises it by itself; null for none. */
    automation: jsonb('automation').$type<AssetAutomationPolicy>(),
    /** An AssetFreshnessPolicy; null for none. */
    freshness: jsonb('freshness').$type<AssetFreshnessPolicy>(),
    createdAt: createdAt(),
    /** When the definition last changed (a redeploy that changes nothing leaves it). */
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.key] }), index('asset_definitions_deployment_idx').on(t.deploymentId)],
);

/**
 * An asset (partition) a run wrote: what the I/O manager reported, never the data. The id is the
 * worker's event id, so a repeated report records nothing twice; a run's later attempt that writes
 * the same asset partition replaces its earlier row (one row per run, asset and partition).
 */
export const assetMaterializations = pgTable(
  'asset_materializations',
  {
    id: uuid('id').primaryKey(),
    workspaceId: workspaceId(),
    assetKey: text('asset_key').notNull(),
    partitionKey: text('partition_key'),
    flowRunId: uuid('flow_run_id')
      .notNull()
      .references(() => flowRuns.id),
    attempt: integer('attempt').notNull(),
    codeVersion: text('code_version').notNull(),
    dataVersion: text('data_version'),
    metadata: jsonb('metadata').$type<JsonObject>().notNull().default({}),
    durationMs: integer('duration_ms'),
    /** Its inputs are in `asset_materialization_inputs`; false for rows written before those were recorded. */
    inputsRecorded: boolean('inputs_recorded').notNull().default(true),
    /** Write order: "latest" must not depend on two reports landing in different milliseconds. */
    seq: serial8('seq').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('asset_materializations_run_uq').on(t.flowRunId, t.assetKey, sql`coalesce(${t.partitionKey}, '')`),
    // An asset's materialisations newest first, and one partition's.
    index('asset_materializations_asset_idx').on(t.workspaceId, t.assetKey, t.seq),
    index('asset_materializations_partition_idx').on(t.workspaceId, t.assetKey, t.partitionKey, t.seq),
  ],
);

/** One upstream partition a materialisation consumed, as `asset_materialization_inputs.partitions` lists it. */
export interface MaterializationInputPartition {
  partitionKey: string | null;
  materializationId: string;
  codeVersion: string | null;
  dataVersion: string | null;
  materializedAt: string;
}

/**
 * What a materialisation consumed from one upstream: the upstream's materialisation(s) current
 * when it was recorded (derived by the control plane as the report is written). `partition_key`
 * is the upstream partition it maps to (partitioned alike), null when it reads the upstream whole.
 */
export const assetMaterializationInputs = pgTable(
  'asset_materialization_inputs',
  {
    materializationId: uuid('materialization_id')
      .notNull()
      .references(() => assetMaterializations.id, { onDelete: 'cascade', onUpdate: 'cascade' }),
    workspaceId: workspaceId(),
    upstreamKey: text('upstream_key').notNull(),
    partitionKey: text('partition_key'),
    partitioned: boolean('partitioned').notNull(),
    /** How many upstream partitions it consumed, counted up to 10,001. */
    partitionCount: integer('partition_count').notNull(),
    /** At most 50 of them, newest first. */
    partitions: jsonb('partitions').$type<MaterializationInputPartition[]>().notNull().default([]),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.materializationId, t.upstreamKey] })],
);

/** An asset (partition) a run failed to write, with the run's message; one row per run, asset and partition. */
export const assetFailures = pgTable(
  'asset_failures',
  {
    id: uuid('id').primaryKey(),
    workspaceId: workspaceId(),
    assetKey: text('asset_key').notNull(),
    partitionKey: text('partition_key'),
    flowRunId: uuid('flow_run_id')
      .notNull()
      .references(() => flowRuns.id),
    attempt: integer('attempt').notNull(),
    message: text('message').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('asset_failures_run_uq').on(t.flowRunId, t.assetKey, sql`coalesce(${t.partitionKey}, '')`)],
);

/**
 * The latest status of each asset partition, so a grid of 10,000 partitions is one read of the
 * primary key. `partition_key` is '' for an unpartitioned asset (real keys are never empty). The
 * materialisation columns keep the latest successful write even while the status says a later
 * attempt FAILED or a run is MATERIALIZING (which readers believe only while that run is active).
 */
export const assetPartitions = pgTable(
  'asset_partitions',
  {
    workspaceId: workspaceId(),
    assetKey: text('asset_key').notNull(),
    partitionKey: text('partition_key').notNull(),
    status: text('status').$type<'MATERIALIZED' | 'FAILED' | 'MATERIALIZING'>().notNull(),
    /** The run the status is about. */
    flowRunId: uuid('flow_run_id').references(() => flowRuns.id),
    materializationId: uuid('materialization_id'),
    codeVersion: text('code_version'),
    dataVersion: text('data_version'),
    materializedAt: ts('materialized_at'),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.assetKey, t.partitionKey] }),
    check('asset_partitions_status_ck', sql`status IN ('MATERIALIZED', 'FAILED', 'MATERIALIZING')`),
  ],
);

/** A check's result on an asset (partition), reported by the run that ran it; one row per run, asset, check and partition. */
export const assetCheckResults = pgTable(
  'asset_check_results',
  {
    id: uuid('id').primaryKey(),
    workspaceId: workspaceId(),
    assetKey: text('asset_key').notNull(),
    checkName: text('check_name').notNull(),
    partitionKey: text('partition_key'),
    flowRunId: uuid('flow_run_id')
      .notNull()
      .references(() => flowRuns.id),
    attempt: integer('attempt').notNull(),
    materializationId: uuid('materialization_id'),
    passed: boolean('passed').notNull(),
    severity: text('severity').$type<CheckSeverity>().notNull(),
    blocking: boolean('blocking').notNull(),
    metadata: jsonb('metadata').$type<JsonObject>().notNull().default({}),
    seq: serial8('seq').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('asset_check_results_run_uq').on(t.flowRunId, t.assetKey, t.checkName, sql`coalesce(${t.partitionKey}, '')`),
    index('asset_check_results_asset_idx').on(t.workspaceId, t.assetKey, t.seq),
    // The latest result of a check, and of a check on each partition.
    index('asset_check_results_check_idx').on(t.workspaceId, t.assetKey, t.checkName, t.seq),
    index('asset_check_results_partition_idx').on(t.workspaceId, t.assetKey, t.checkName, t.partitionKey, t.seq),
  ],
);

/**
 * A person's decision that a failed check may be ignored (audited). It lifts the result it names
 * (with a partition) or every result of the check up to that one (without): a later failure blocks
 * again. No foreign key to the result: a run's retry replaces its result row, and the new result
 * is then not waived.
 */
export const assetCheckWaivers = pgTable(
  'asset_check_waivers',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    assetKey: text('asset_key').notNull(),
    checkName: text('check_name').notNull(),
    partitionKey: text('partition_key'),
    checkResultId: uuid('check_result_id').notNull(),
    /** The waived result's `seq`: a waiver without a partition lifts every result of the check up to it. */
    resultSeq: bigint('result_seq', { mode: 'number' }).$type<string>().notNull(),
    reason: text('reason').notNull(),
    /** The person's email or the key's name, as the audit log shows the actor. */
    waivedBy: text('waived_by').notNull(),
    actorKind: text('actor_kind').$type<AuditActorKind>().notNull(),
    actorId: uuid('actor_id'),
    createdAt: createdAt(),
  },
  (t) => [index('asset_check_waivers_check_idx').on(t.workspaceId, t.assetKey, t.checkName)],
);

/** The keys of a workspace's dynamic partition sets, in the order they were added. */
export const dynamicPartitionKeys = pgTable(
  'dynamic_partition_keys',
  {
    workspaceId: workspaceId(),
    name: text('name').notNull(),
    key: text('key').notNull(),
    position: serial8('position').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.name, t.key] }),
    index('dynamic_partition_keys_position_idx').on(t.workspaceId, t.name, t.position),
  ],
);

/**
 * "This workspace's lineage facts changed": one row per statement that wrote asset definitions,
 * partition statuses, check results, waivers or dynamic partition keys, per workspace it touched,
 * appended by statement triggers on those tables (0043_lineage_changes.sql). Only the retention
 * loop deletes rows, adding their number to `lineage_change_counts` in the same statement; the stamp
 * of a workspace's lineage is that number plus the rows left (db/lineage-changes.ts).
 */
export const lineageChanges = pgTable(
  'lineage_changes',
  {
    workspaceId: workspaceId(),
    seq: serial8('seq').notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.seq] })],
);

/** How many `lineage_changes` rows of the workspace the retention loop has folded (deleted and counted). */
export const lineageChangeCounts = pgTable('lineage_change_counts', {
  workspaceId: uuid('workspace_id')
    .primaryKey()
    .references(() => workspaces.id),
  folded: bigint('folded', { mode: 'number' }).$type<string>().notNull(),
});

// ---- the event ledger: what happened, for triggers, automations, waits and the events page ----

/** A transaction id (`xid8`), read as a decimal string. */
const xid8 = customType<{ data: string }>({ dataType: () => 'xid8' });
/** A Postgres snapshot (`xmin:xmax:xip,…`), as text. */
const pgSnapshot = customType<{ data: string }>({ dataType: () => 'pg_snapshot' });

/**
 * Append-only (an update raises; retention drops whole months). System events are written by
 * triggers on the tables whose changes they describe (see 0020_event_ledger.sql), in the same
 * transaction. A reader that must see each event once reads in `(txid, seq)` order up to the oldest
 * running transaction (`events/db/events.ts`), so an event committed late never sorts before one already
 * read. Partitioned by month of `received_at` (migration 0044; drizzle cannot say so, the migrations
 * do), so the key holds it; ids are kept unique in a workspace by `event_ids`.
 */
export const events = pgTable(
  'events',
  {
    seq: serial8('seq').notNull(),
    id: uuid('id').notNull().defaultRandom(),
    workspaceId: workspaceId(),
    occurredAt: ts('occurred_at').notNull().defaultNow(),
    receivedAt: ts('received_at').notNull().defaultNow(),
    kind: text('kind').notNull(),
    resourceKind: text('resource_kind').notNull(),
    resourceId: text('resource_id').notNull(),
    resourceName: text('resource_name'),
    related: jsonb('related').$type<{ kind: string; id: string; name?: string | null }[]>().notNull().default([]),
    payload: jsonb('payload').$type<JsonObject>().notNull().default({}),
    source: text('source').$type<EventSource>().notNull(),
    /** The API key, run or webhook that emitted a custom event. */
    sourceId: text('source_id'),
    txid: xid8('txid').notNull().default(sql`pg_current_xact_id()`),
  },
  (t) => [
    primaryKey({ columns: [t.seq, t.receivedAt] }),
    index('events_workspace_idx').on(t.workspaceId, t.seq),
    index('events_kind_idx').on(t.workspaceId, t.kind, t.seq),
    // Newest-first pages without internal bookkeeping (events/db/event-list.ts, migration 0036).
    index('events_visible_idx').on(t.workspaceId, t.seq).where(sql.raw(VISIBLE_EVENTS_SQL)),
    index('events_resource_idx').on(t.workspaceId, t.resourceId, t.seq),
    index('events_related_idx').using('gin', sql`${t.related} jsonb_path_ops`),
    index('events_commit_order_idx').on(t.txid, t.seq),
    check('events_source_ck', sql`source IN ('system', 'api', 'run', 'webhook', 'sensor')`),
  ],
);

/**
 * The ids of the events stored through the ingest statement (`events/db/events.ts` storeEventRows), one row
 * an id: what stores an id once in its workspace across the ledger's months, where a unique index
 * cannot reach. `received_at` is its event's, so retention deletes the ids of the months it dropped
 * by a range of `event_ids_received_idx`.
 */
export const eventIds = pgTable(
  'event_ids',
  {
    workspaceId: uuid('workspace_id').notNull(),
    id: uuid('id').notNull(),
    receivedAt: ts('received_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.id] }), index('event_ids_received_idx').on(t.receivedAt)],
);

// ---- durable waits: runs waiting for an event, a time, an approval or a token ----

/**
 * One wait of a run, unique by key in the run (a replay finds it again). `due_at` is when the timer
 * side of the loop must look at it (an until wait's time, or its timeout); `event_kind` and `token`
 * index the waits an event or a token completion may resolve. `looked_back` is set once the loop has
 * matched the wait against the events stored before it began (see loops/waits.ts).
 */
export const waits = pgTable(
  'waits',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    flowRunId: uuid('flow_run_id')
      .notNull()
      .references(() => flowRuns.id),
    key: text('key').notNull(),
    kind: text('kind').$type<WaitKind>().notNull(),
    spec: jsonb('spec').$type<WaitSpec>().notNull(),
    status: text('status').$type<WaitStatus>().notNull().default('WAITING'),
    expiresAt: ts('expires_at'),
    dueAt: ts('due_at'),
    eventKind: text('event_kind'),
    token: text('token'),
    lookedBack: boolean('looked_back').notNull().default(false),
    resolvedAt: ts('resolved_at'),
    value: jsonb('value'),
    decidedBy: uuid('decided_by'),
    /** A run wait's run: the wait resolves when that run reaches a terminal state. */
    targetRunId: uuid('target_run_id'),
    /**
     * An external wait's next poll, or its one cancellation once it ended without the job ending
     * (`cancel_pending`); null when nothing is due. A worker of the run's pool takes it under the lease.
     */
    pollAt: ts('poll_at'),
    cancelPending: boolean('cancel_pending').notNull().default(false),
    pollLeaseId: uuid('poll_lease_id'),
    pollLeaseExpiresAt: ts('poll_lease_expires_at'),
    pollWorkerId: uuid('poll_worker_id'),
    /** Polls so far, and the ones in a row that could not reach the job's system. */
    polls: integer('polls').notNull().default(0),
    failedPolls: integer('failed_polls').notNull().default(0),
    pollMessage: text('poll_message'),
    pollLogs: text('poll_logs').array().notNull().default(sql`'{}'::text[]`),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('waits_run_key_uq').on(t.flowRunId, t.key),
    index('waits_workspace_idx').on(t.workspaceId, t.createdAt, t.id),
    index('waits_due_idx').on(t.dueAt).where(sql`status = 'WAITING'`),
    index('waits_event_idx').on(t.workspaceId, t.eventKind).where(sql`status = 'WAITING'`),
    index('waits_token_idx').on(t.workspaceId, t.token).where(sql`status = 'WAITING'`),
    index('waits_token_any_idx').on(t.workspaceId, t.token).where(sql`token IS NOT NULL`),
    index('waits_lookback_idx').on(t.createdAt).where(sql`NOT looked_back`),
    index('waits_target_run_idx').on(t.targetRunId).where(sql`status = 'WAITING' AND target_run_id IS NOT NULL`),
    index('waits_poll_idx').on(t.pollAt).where(sql`poll_at IS NOT NULL`),
    check('waits_kind_ck', sql`kind IN ('event', 'until', 'approval', 'token', 'run', 'external')`),
    check('waits_status_ck', sql`status IN ('WAITING', 'RESOLVED', 'TIMED_OUT', 'CANCELLED')`),
  ],
);

/** A completed token; one completed before its wait exists resolves that wait when it is created. */
export const waitTokens = pgTable(
  'wait_tokens',
  {
    workspaceId: workspaceId(),
    token: text('token').notNull(),
    value: jsonb('value'),
    completedAt: ts('completed_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.token] })],
);

/** Where a suspended run's completed task results are kept (a reference into the worker's storage, never the value). */
export const recordedResults = pgTable(
  'recorded_results',
  {
    workspaceId: workspaceId(),
    flowRunId: uuid('flow_run_id').notNull(),
    taskKey: text('task_key').notNull(),
    dynamicKey: text('dynamic_key').notNull(),
    taskRunId: uuid('task_run_id').notNull(),
    ref: text('ref').notNull(),
    /** The attempt that recorded it. */
    attempt: integer('attempt').notNull(),
    recordedAt: ts('recorded_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.flowRunId, t.taskKey, t.dynamicKey] })],
);

/** The ledger position the waits loop has matched events up to (`events/db/events.ts` LedgerCursor). */
export const waitEventCursor = pgTable('wait_event_cursor', {
  name: text('name').primaryKey(),
  txid: xid8('txid').notNull(),
  seq: bigint('seq', { mode: 'number' }).$type<string>().notNull(),
  snapFrom: pgSnapshot('snap_from').notNull().default('1:1:'),
  snapTo: pgSnapshot('snap_to'),
});
// ---- automations: triggers over the ledger and the actions they fire ----

/**
 * A trigger (JSON, the contract's Trigger) and its actions. Owned by a deployment when declared in
 * its `triggers:` (names are unique per deployment), else by the workspace (names unique there).
 */
export const automations = pgTable(
  'automations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    deploymentId: uuid('deployment_id').references(() => deployments.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description'),
    enabled: boolean('enabled').notNull().default(true),
    trigger: jsonb('trigger').$type<Trigger>().notNull(),
    actions: jsonb('actions').$type<AutomationAction[]>().notNull(),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    lastFiredAt: ts('last_fired_at'),
    lastError: text('last_error'),
    /** Evaluations that ran past their deadline or heap limit since the expressions last changed; at MAX_BUDGET_FAILURES the automation is turned off. */
    budgetFailures: integer('budget_failures').notNull().default(0),
    /** Why the control plane turned the automation off (its expressions kept running over budget), until it is enabled again. */
    disabledReason: text('disabled_reason'),
  },
  (t) => [
    uniqueIndex('automations_workspace_name_uq').on(t.workspaceId, t.name).where(sql`deployment_id IS NULL`),
    uniqueIndex('automations_deployment_name_uq').on(t.deploymentId, t.name).where(sql`deployment_id IS NOT NULL`),
    index('automations_enabled_idx').on(t.workspaceId).where(sql`enabled`),
  ],
);

/** One firing per automation and key; `actions` holds each action's outcome. */
export const automationFirings = pgTable(
  'automation_firings',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    automationId: uuid('automation_id')
      .notNull()
      .references(() => automations.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    firedAt: ts('fired_at').notNull().defaultNow(),
    eventIds: uuid('event_ids').array().notNull().default(sql`'{}'`),
    actions: jsonb('actions').$type<FiringAction[]>().notNull().default([]),
  },
  (t) => [
    uniqueIndex('automation_firings_key_uq').on(t.automationId, t.key),
    index('automation_firings_list_idx').on(t.automationId, t.firedAt, t.id),
  ],
);

/** Per-group memory of a trigger: threshold counts, cooldowns, compound and sequence progress. */
export const automationState = pgTable(
  'automation_state',
  {
    automationId: uuid('automation_id')
      .notNull()
      .references(() => automations.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    groupKey: text('group_key').notNull(),
    data: jsonb('data').$type<JsonObject>().notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ name: 'automation_state_pk', columns: [t.automationId, t.kind, t.groupKey] })],
);

/** A proactive trigger's windows: OPEN until met (MET) or closed without the expected event (FIRED). */
export const automationWindows = pgTable(
  'automation_windows',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    automationId: uuid('automation_id')
      .notNull()
      .references(() => automations.id, { onDelete: 'cascade' }),
    groupKey: text('group_key').notNull(),
    openedAt: ts('opened_at').notNull(),
    closesAt: ts('closes_at').notNull(),
    openingEvent: jsonb('opening_event').$type<JsonObject>(),
    status: text('status').$type<'OPEN' | 'MET' | 'FIRED'>().notNull().default('OPEN'),
  },
  (t) => [
    uniqueIndex('automation_windows_uq').on(t.automationId, t.groupKey, t.openedAt),
    index('automation_windows_open_idx').on(t.closesAt).where(sql`status = 'OPEN'`),
    check('automation_windows_status_ck', sql`status IN ('OPEN', 'MET', 'FIRED')`),
  ],
);

/** The automations loop's place in the ledger (`events/db/events.ts` LedgerCursor, read by readLedger). */
export const automationCursor = pgTable('automation_cursor', {
  name: text('name').primaryKey(),
  txid: xid8('txid').notNull(),
  seq: bigint('seq', { mode: 'number' }).$type<string>().notNull(),
  snapFrom: pgSnapshot('snap_from').notNull().default('1:1:'),
  snapTo: pgSnapshot('snap_to'),
  updatedAt: ts('updated_at').notNull().defaultNow(),
  /** Rounds begun at this cursor that did not commit: past a few, the loop narrows to one event and then steps over it. */
  attempts: integer('attempts').notNull().default(0),
});

/** Events the automations loop did not evaluate, for one automation (over its budget) or all (a poison event): listed, never retried. */
export const automationQuarantine = pgTable(
  'automation_quarantine',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    eventId: uuid('event_id').notNull(),
    eventKind: text('event_kind').notNull(),
    automationId: uuid('automation_id').references(() => automations.id, { onDelete: 'cascade' }),
    reason: text('reason').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('automation_quarantine_list_idx').on(t.workspaceId, t.createdAt, t.id)],
);

// ---- notifications: channels, the delivery outbox, and reported worker/pool statuses ----

export type NotificationChannelKind = 'webhook' | 'slack' | 'email';
export type NotificationDeliveryStatus = 'PENDING' | 'SENT' | 'DEAD';

/**
 * Where a notify action sends. `secret_encrypted` is sealed with the server's SecretBox under the
 * channel id: the webhook's signing secret, or the Slack incoming-webhook URL (the URL is the credential).
 */
export const notificationChannels = pgTable(
  'notification_channels',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    name: text('name').notNull(),
    kind: text('kind').$type<NotificationChannelKind>().notNull(),
    /** The webhook's URL; null for Slack (sealed) and email. */
    url: text('url'),
    recipients: text('recipients').array().notNull().default(sql`'{}'::text[]`),
    secretEncrypted: text('secret_encrypted'),
    /** CEL `{{ }}` templates over `event`, used when the notify action gives no subject or body. */
    subjectTemplate: text('subject_template'),
    bodyTemplate: text('body_template'),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('notification_channels_name_uq').on(t.workspaceId, t.name),
    check('notification_channels_kind_ck', sql`kind IN ('webhook', 'slack', 'email')`),
  ],
);

/**
 * External addresses an email channel of the workspace sends to: pending until their person opens
 * the one confirmation link mailed to them (its sha256 in `token_hash`), confirmed after.
 */
export const mailRecipients = pgTable(
  'mail_recipients',
  {
    workspaceId: workspaceId(),
    address: text('address').notNull(),
    tokenHash: text('token_hash'),
    tokenExpiresAt: ts('token_expires_at'),
    confirmedAt: ts('confirmed_at'),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.address] }), uniqueIndex('mail_recipients_token_uq').on(t.tokenHash)],
);

/** Confirmation mails sent to one address per UTC day, by every workspace together. */
export const mailConfirmationSends = pgTable(
  'mail_confirmation_sends',
  {
    address: text('address').notNull(),
    day: ts('day').notNull(),
    sent: integer('sent').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.address, t.day] })],
);

/** An operator's override of one of the workspace's quotas (`outpost server quota set`); absent: the default. */
export const workspaceQuotas = pgTable(
  'workspace_quotas',
  {
    workspaceId: workspaceId(),
    name: text('name').notNull(),
    limit: integer('limit').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.name] }), check('workspace_quotas_limit_ck', sql`"limit" >= 0`)],
);

/**
 * An organisation's own limit on one of its workspace's quotas (owners and admins set it), at most the
 * operator's: the workspace is held to the lower of this and `workspace_quotas` (or the default).
 */
export const organisationQuotaLimits = pgTable(
  'organisation_quota_limits',
  {
    workspaceId: workspaceId(),
    name: text('name').notNull(),
    limit: integer('limit').notNull(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.name] }), check('organisation_quota_limits_limit_ck', sql`"limit" >= 0`)],
);

/** Events the workspace's calls, webhooks and runs stored per UTC day, against its `eventsPerDay` quota. */
export const workspaceEventCounts = pgTable(
  'workspace_event_counts',
  {
    workspaceId: workspaceId(),
    day: ts('day').notNull(),
    count: integer('count').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.day] })],
);

/** Mail messages the workspace sent per hour (one per recipient), against its `mailPerHour` quota. */
export const mailUsage = pgTable(
  'mail_usage',
  {
    workspaceId: workspaceId(),
    hour: ts('hour').notNull(),
    sent: integer('sent').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.hour] })],
);

/** The outbox: written with the firing that decided to notify, sent by the notifications loop. */
export const notificationDeliveries = pgTable(
  'notification_deliveries',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    channelId: uuid('channel_id').references(() => notificationChannels.id, { onDelete: 'set null' }),
    channelName: text('channel_name').notNull(),
    automationId: uuid('automation_id'),
    firingId: uuid('firing_id'),
    eventId: uuid('event_id'),
    idempotencyKey: text('idempotency_key').notNull(),
    subject: text('subject').notNull(),
    body: text('body').notNull(),
    /** The JSON a webhook channel posts (the event, subject and body), kept as it was sent. */
    payload: jsonb('payload').$type<JsonObject>().notNull().default({}),
    status: text('status').$type<NotificationDeliveryStatus>().notNull().default('PENDING'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: ts('next_attempt_at').notNull().defaultNow(),
    lastError: text('last_error'),
    sentAt: ts('sent_at'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('notification_deliveries_key_uq').on(t.workspaceId, t.idempotencyKey),
    index('notification_deliveries_list_idx').on(t.workspaceId, t.createdAt, t.id),
    index('notification_deliveries_due_idx').on(t.nextAttemptAt).where(sql`status = 'PENDING'`),
    check('notification_deliveries_status_ck', sql`status IN ('PENDING', 'SENT', 'DEAD')`),
  ],
);

/** The status of each worker and pool last reported as an event (loops/worker-status.ts). */
export const reportedStatuses = pgTable(
  'reported_statuses',
  {
    workspaceId: workspaceId(),
    resourceKind: text('resource_kind').$type<'worker' | 'work-pool'>().notNull(),
    resourceId: text('resource_id').notNull(),
    status: text('status').notNull(),
    reportedAt: ts('reported_at').notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.workspaceId, t.resourceKind, t.resourceId] }),
    check('reported_statuses_kind_ck', sql`resource_kind IN ('worker', 'work-pool')`),
  ],
);

// ---- asset automation: policies' decisions and freshness ----

/**
 * What the asset automation loop decided for an asset (partition) when one of its conditions held:
 * a run requested, or why not. `evaluation_key` names the condition's cause (the upstream
 * materialisation, the cron tick, the missing partition) and the outcome, so a cause is recorded
 * once however many passes see it.
 */
export const assetAutomationEvaluations = pgTable(
  'asset_automation_evaluations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    assetKey: text('asset_key').notNull(),
    partitionKey: text('partition_key'),
    evaluationKey: text('evaluation_key').notNull(),
    reason: text('reason').$type<'upstream_updated' | 'cron' | 'missing'>().notNull(),
    outcome: text('outcome').$type<'REQUESTED' | 'SKIPPED'>().notNull(),
    skipReason: text('skip_reason').$type<'in_flight' | 'upstream_in_flight' | 'blocked' | 'already_requested' | 'failed'>(),
    message: text('message').notNull(),
    flowRunId: uuid('flow_run_id').references(() => flowRuns.id),
    seq: serial8('seq').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('asset_automation_evaluations_key_uq').on(t.workspaceId, t.evaluationKey),
    index('asset_automation_evaluations_asset_idx').on(t.workspaceId, t.assetKey, t.seq),
    check('asset_automation_evaluations_reason_ck', sql`reason IN ('upstream_updated', 'cron', 'missing')`),
    check('asset_automation_evaluations_outcome_ck', sql`outcome IN ('REQUESTED', 'SKIPPED')`),
  ],
);

/**
 * An asset's freshness as last announced: the loop changes `violated` and appends the event
 * (`asset.freshness.violated|restored`) in one transaction under the row's lock, so each change is
 * announced once. `changes` counts them (the event ids derive from it).
 */
export const assetFreshness = pgTable(
  'asset_freshness',
  {
    workspaceId: workspaceId(),
    assetKey: text('asset_key').notNull(),
    violated: boolean('violated').notNull(),
    deadline: ts('deadline').notNull(),
    changes: integer('changes').notNull().default(0),
    changedAt: ts('changed_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.assetKey] })],
);

// ---- sensors: functions in a deployment's code that workers evaluate on an interval ----

/**
 * One sensor of a deployment (registered at deploy). A worker of the deployment's pool claims a due
 * tick by taking the lease (`lease_*`, one tick at a time); completing the tick stores the cursor,
 * the next due time and the summary of the last tick here, in the transaction that creates its runs.
 */
export const sensors = pgTable(
  'sensors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    deploymentId: uuid('deployment_id')
      .notNull()
      .references(() => deployments.id),
    name: text('name').notNull(),
    description: text('description'),
    intervalSeconds: integer('interval_seconds').notNull(),
    paused: boolean('paused').notNull().default(false),
    cursor: text('cursor'),
    nextTickAt: ts('next_tick_at').notNull().defaultNow(),
    /** The tick being evaluated, by which worker (and key), until when. */
    leaseTickId: uuid('lease_tick_id'),
    leaseWorkerId: uuid('lease_worker_id'),
    leaseKeyId: uuid('lease_key_id'),
    leaseExpiresAt: ts('lease_expires_at'),
    lastTickId: uuid('last_tick_id'),
    lastTickStatus: text('last_tick_status').$type<SensorTickStatus>(),
    lastTickAt: ts('last_tick_at'),
    lastTickRunCount: integer('last_tick_run_count').notNull().default(0),
    lastTickSkipReason: text('last_tick_skip_reason'),
    lastTickError: text('last_tick_error'),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('sensors_deployment_name_uq').on(t.deploymentId, t.name),
    index('sensors_workspace_idx').on(t.workspaceId, t.name, t.id),
    // The claim walks due, unpaused sensors in due order.
    index('sensors_due_idx').on(t.nextTickAt).where(sql`NOT paused`),
  ],
);

/** Each evaluation of a sensor: what it asked for and what became of it. */
export const sensorTicks = pgTable(
  'sensor_ticks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    sensorId: uuid('sensor_id')
      .notNull()
      .references(() => sensors.id, { onDelete: 'cascade' }),
    status: text('status').$type<SensorTickStatus>().notNull(),
    startedAt: ts('started_at').notNull().defaultNow(),
    endedAt: ts('ended_at'),
    workerId: uuid('worker_id'),
    runs: jsonb('runs').$type<SensorTickRun[]>().notNull().default([]),
    skipReason: text('skip_reason'),
    error: text('error'),
    cursorBefore: text('cursor_before'),
    cursorAfter: text('cursor_after'),
    logs: jsonb('logs').$type<string[]>().notNull().default([]),
  },
  (t) => [index('sensor_ticks_sensor_idx').on(t.sensorId, t.startedAt, t.id)],
);
// ---- inbound webhooks: deliveries that become events ----

/** An inbound webhook. The URL token is kept as its sha256 only; the signing secret is sealed (db/secret-box.ts). */
export const eventWebhooks = pgTable(
  'event_webhooks',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    workspaceId: workspaceId(),
    name: text('name').notNull(),
    description: text('description'),
    tokenHash: text('token_hash').notNull(),
    /** `v1.…` sealed under OUTPOST_SECRET_KEY, or `plain.<secret>` on a server without one (it warns at boot). */
    secretSealed: text('secret_sealed').notNull(),
    signatureHeader: text('signature_header').notNull().default('x-outpost-signature'),
    template: jsonb('template').$type<EventWebhookTemplate>().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    createdAt: createdAt(),
    updatedAt: ts('updated_at').notNull().defaultNow(),
    lastUsedAt: ts('last_used_at'),
    /** Why the last refused delivery could not become an event: its template failed, or ran past its budget. */
    lastError: text('last_error'),
  },
  (t) => [
    uniqueIndex('event_webhooks_name_uq').on(t.workspaceId, t.name),
    uniqueIndex('event_webhooks_token_uq').on(t.tokenHash),
  ],
);

/** What each measure of usage adds up: the columns `workspace_usage` and `usage_deltas` share. */
const usageMeasures = () => ({
  runs: bigint('runs', { mode: 'number' }).notNull().default(0),
  taskRuns: bigint('task_runs', { mode: 'number' }).notNull().default(0),
  computeSeconds: doublePrecision('compute_seconds').notNull().default(0),
  logLines: bigint('log_lines', { mode: 'number' }).notNull().default(0),
  logBytes: bigint('log_bytes', { mode: 'number' }).notNull().default(0),
  events: bigint('events', { mode: 'number' }).notNull().default(0),
  metadataBytes: bigint('metadata_bytes', { mode: 'number' }).notNull().default(0),
});

/**
 * A workspace's usage in one UTC month, as the usage loop folded it from `usage_deltas` (migration
 * 0048 says what each measure counts and where it is counted).
 */
export const workspaceUsage = pgTable(
  'workspace_usage',
  {
    workspaceId: workspaceId(),
    month: date('month').notNull(),
    ...usageMeasures(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.month] })],
);

/** Counts the database's triggers append, one row per workspace per counted statement, until folded. */
export const usageDeltas = pgTable(
  'usage_deltas',
  {
    id: serial8('id').primaryKey(),
    workspaceId: uuid('workspace_id').notNull(),
    month: date('month').notNull(),
    ...usageMeasures(),
  },
  (t) => [index('usage_deltas_workspace_month_idx').on(t.workspaceId, t.month)],
);
