import * as z from 'zod';
import { ArtifactCreateRequest, ArtifactLatestQuery, ArtifactListResponse, ArtifactResponse } from './artifacts.js';
import {
  Asset,
  AssetCheckResultListQuery,
  AssetCheckResultListResponse,
  AssetCheckWaiver,
  AssetEvaluationListQuery,
  AssetEvaluationListResponse,
  AssetEventBatchRequest,
  AssetEventBatchResponse,
  AssetGateResponse,
  AssetKeyQuery,
  AssetLineageResponse,
  AssetListQuery,
  AssetListResponse,
  AssetMaterializationLineageQuery,
  AssetMaterializationLineageResponse,
  AssetMaterializationListQuery,
  AssetMaterializationListResponse,
  AssetMaterializeRequest,
  AssetMaterializeResponse,
  AssetPartitionsQuery,
  AssetPartitionsResponse,
  AssetWaiveRequest,
  DynamicPartitionKeyParams,
  DynamicPartitionKeysRequest,
  DynamicPartitionKeysResponse,
  DynamicPartitionsParams,
} from './assets.js';
import {
  AuditChainHead,
  AuditChainHeadsResponse,
  AuditEntry,
  AuditExportQuery,
  AuditLogQuery,
  AuditLogResponse,
  OrganisationAuditExportQuery,
} from './audit.js';
import {
  Automation,
  AutomationCreateRequest,
  AutomationListQuery,
  AutomationListResponse,
  AutomationUpdateRequest,
  FiringListQuery,
  FiringListResponse,
  QuarantineListQuery,
  QuarantineListResponse,
} from './automations.js';
import {
  AssetBackfillCreateRequest,
  Backfill,
  BackfillCreateRequest,
  BackfillListQuery,
  BackfillListResponse,
  BackfillPartitionsQuery,
  BackfillPartitionsResponse,
  BackfillWorkspaceListQuery,
} from './backfills.js';
import { FlowRunChildCreateRequest, FlowRunChildListResponse } from './child-runs.js';
import { Id, Name, PageLimit, Tag } from './common.js';
import {
  ConcurrencyLimit,
  ConcurrencyLimitCreateRequest,
  ConcurrencyLimitListResponse,
  ConcurrencyLimitUpdateRequest,
  FlowRunActionRequest,
} from './concurrency.js';
import {
  DirectoryGroup,
  OrganisationGroupMembersQuery,
  OrganisationGroupMembersResponse,
  OrganisationGroupParams,
  OrganisationGroupsQuery,
  OrganisationGroupsResponse,
  PutGroupRolesBody,
} from './directory.js';
import {
  EventEmitBatch,
  EventEmitResponse,
  EventListQuery,
  EventListResponse,
  EventStreamQuery,
  MAX_EVENT_PAYLOAD_BYTES,
  OutpostEvent,
} from './event-ledger.js';
import {
  EventWebhookCreateRequest,
  EventWebhookListResponse,
  EventWebhookParams,
  EventWebhookReceiveResponse,
  EventWebhookSecretResponse,
  EventWebhookTokenParams,
} from './event-webhooks.js';
import { FlowRunEvent } from './events.js';
import {
  Deployment,
  DeploymentListQuery,
  DeploymentListResponse,
  DeploymentUpdateRequest,
  DeploymentUpsertRequest,
  DeploymentUpsertResponse,
  Flow,
  FlowListResponse,
} from './flows.js';
import {
  LogBatchManyRequest,
  LogBatchManyResponse,
  LogBatchRequest,
  LogBatchResponse,
  LogReadQuery,
  LogReadResponse,
} from './logs.js';
import {
  AttemptEnvironmentReport,
  AttemptEnvironmentResponse,
  AttemptParams,
  DeploymentRunCreateRequest,
  FlowRunManifest,
  FlowRunReproduceRequest,
} from './manifests.js';
import {
  AlertRuleCreateRequest,
  MailRecipientConfirmRequest,
  MailRecipientConfirmResponse,
  NotificationChannel,
  NotificationChannelCreateRequest,
  NotificationChannelListResponse,
  NotificationChannelParam,
  NotificationChannelUpdateRequest,
  NotificationChannelWithSecret,
  NotificationDelivery,
  NotificationDeliveryListQuery,
  NotificationDeliveryListResponse,
} from './notifications.js';
import { OrganisationDomainParams, OrganisationSso, OrganisationSsoRequest } from './organisation-sso.js';
import {
  Organisation,
  OrganisationHealthResponse,
  OrganisationListResponse,
  OrganisationMember,
  OrganisationMemberListResponse,
  OrganisationMemberParams,
  OrganisationMembersQuery,
  OrganisationMemberUpdateRequest,
  OrganisationParams,
  OrganisationTokenCreateRequest,
  OrganisationTokenCreateResponse,
  OrganisationTokenListResponse,
  OrganisationTokenParams,
  type OrganisationTokenScope,
  OrganisationUpdateRequest,
  OrganisationWorkspace,
  OrganisationWorkspaceCreateRequest,
  OrganisationWorkspaceMember,
  OrganisationWorkspaceMemberParams,
  OrganisationWorkspaceMemberPutRequest,
  OrganisationWorkspaceParams,
  OrganisationWorkspaceUpdateRequest,
  SessionSwitchRequest,
} from './organisations.js';
import {
  ClaimRequest,
  WorkerHeartbeatRequest,
  WorkerHeartbeatResponse,
  WorkerListResponse,
  WorkPool,
  WorkPoolCreateRequest,
  WorkPoolListResponse,
  WorkPoolUpdateRequest,
  WorkQueue,
  WorkQueueCreateRequest,
  WorkQueueListResponse,
  WorkQueueUpdateRequest,
} from './pools.js';
import {
  OrganisationQuota,
  OrganisationQuotaListResponse,
  OrganisationQuotaParams,
  OrganisationQuotaPutRequest,
  QuotaListResponse,
} from './quotas.js';
import { WorkPoolMetrics } from './resources.js';
import {
  ClaimResponse,
  FlowRun,
  FlowRunAttemptsResponse,
  FlowRunCreateRequest,
  FlowRunCreateResponse,
  FlowRunListQuery,
  FlowRunListResponse,
  RunAdoptRequest,
  RunAdoptResponse,
  StateHistoryResponse,
  StateProposalBatchRequest,
  StateProposalBatchResponse,
  StateProposalRequest,
  StateProposalResponse,
} from './runs.js';
import { Schedule, ScheduleListResponse, ScheduleUpdateRequest } from './schedules.js';
import {
  SCIM_BASE_PATH,
  SCIM_BODY_BYTES,
  ScimGroup,
  ScimGroupListResponse,
  ScimGroupRequest,
  ScimListQuery,
  ScimParams,
  ScimPatchRequest,
  ScimReadQuery,
  ScimResourceParams,
  ScimResourceType,
  ScimResourceTypeListResponse,
  ScimSchemaDocument,
  ScimSchemaListResponse,
  ScimServiceProviderConfig,
  ScimUser,
  ScimUserListResponse,
  ScimUserRequest,
} from './scim.js';
import {
  Sensor,
  SensorListQuery,
  SensorListResponse,
  SensorTick,
  SensorTickClaimRequest,
  SensorTickClaimResponse,
  SensorTickCompleteRequest,
  SensorTickListQuery,
  SensorTickListResponse,
  SensorTickParams,
} from './sensors.js';
import { AuthSessionCreateRequest, AuthSessionCreateResponse, AuthSessionDeleteResponse } from './sessions.js';
import { StatsOverviewQuery, StatsOverviewResponse } from './stats.js';
import {
  TaskRunBatchRequest,
  TaskRunBatchResponse,
  TaskRunCreateRequest,
  TaskRunListQuery,
  TaskRunPageResponse,
  TaskRunResponse,
  TaskRunSetStateRequest,
  TaskRunSummaryResponse,
} from './task-runs.js';
import { OrganisationUsageQuery, OrganisationUsageResponse } from './usage.js';
import {
  EmailConfirmRequest,
  EmailConfirmResponse,
  InvitationAcceptResponse,
  InvitationListResponse,
  InvitationParams,
  Member,
  MemberAddRequest,
  MemberAddResponse,
  MemberListResponse,
  MemberParams,
  MemberUpdateRequest,
  OidcConfig,
  OidcConfigRequest,
  PASSWORD_RESET_MINUTES,
  PasswordChangeRequest,
  PasswordResetConfirmRequest,
  PasswordResetConfirmResponse,
  PasswordResetRequest,
  PasswordResetResponse,
  PasswordSetupRequest,
  PasswordSignInRequest,
  SetupTokenResponse,
  VerificationSendResponse,
} from './users.js';
import {
  ApprovalDecideRequest,
  ExternalPollClaimRequest,
  ExternalPollClaimResponse,
  ExternalPollCompleteRequest,
  ExternalPollCompleteResponse,
  ExternalPollParams,
  ReplayResponse,
  SuspendRequest,
  SuspendResponse,
  WaitCreateRequest,
  WaitGetQuery,
  WaitListQuery,
  WaitListResponse,
  WaitResponse,
  WaitTokenCompleteRequest,
  WaitTokenCompleteResponse,
  WaitTokenParams,
} from './waits.js';
import {
  ApiKey,
  ApiKeyCreateRequest,
  ApiKeyCreateResponse,
  ApiKeyListResponse,
  type Role,
  WhoAmIResponse,
  WORKSPACES_PER_ACCOUNT,
  WorkspaceCreateRequest,
  WorkspaceCreateResponse,
} from './workspaces.js';

/**
 * Who may call a route: API keys with one of `roles`, and — where `runToken` is set — a run token,
 * which may only act on the run named by the path's `id` (or `runId`). The other flags each name
 * another kind of caller; a route sets at most one of `anonymous`, `person`, `anyCredential` and `operator`.
 */
export interface RouteAccess {
  roles: readonly Role[];
  runToken?: boolean;
  /**
   * A worker key may call it for any run one of its workers ran, not only those they hold now:
   * late log lines (spooled while the API was away) are history and belong to their attempt.
   */
  workerHistory?: boolean;
  /** Reachable without any credential (signing in and out, public documents); `roles` is then empty. */
  anonymous?: boolean;
  /**
   * Only for a person's own session (password or single sign-on), whatever their role: the route
   * acts on the signed-in account itself, so API keys and run tokens, which have none, are refused.
   */
  person?: boolean;
  /**
   * Any valid credential of any role, run tokens included: the route tells nothing of a workspace
   * (the API's own description), so there is no role to check and no object to scope.
   */
  anyCredential?: boolean;
  /**
   * Only the operator's OUTPOST_METRICS_TOKEN, as a bearer token: the route spans every workspace,
   * so every workspace credential is refused. Without a configured token the route does not exist.
   */
  operator?: boolean;
  /**
   * An anonymous route that still reads the session cookie it is sent: a live session is checked
   * (origin and CSRF) and counted as its caller; one that has ended counts as a failed authentication.
   */
  optionalSession?: boolean;
  /** An anonymous route a page on another site must not call on a browser's behalf (its origin is checked). */
  sameOrigin?: boolean;
  /**
   * Taken from a caller whose workspace is archived, although it is not a read: a report of work that
   * started before the archive (so runs under way can finish), or a route that acts on the caller's
   * organisation or session rather than on the workspace's history, or a revocation (a key, a
   * member, single sign-on, a webhook's token), which an archived workspace must still be able to
   * make. Every other mutation of an archived workspace is a 409.
   */
  whileArchived?: boolean;
  /**
   * Also taken from an organisation token holding this scope, for the organisation the path names
   * (`:org`): a credential of the organisation, not of one workspace or one person. The handler is
   * then called without a principal and with the token's organisation.
   */
  organisationToken?: OrganisationTokenScope;
  /**
   * Only an organisation token holding `organisationToken`'s scope: the route acts for the
   * organisation's directory, which is neither a person nor a workspace, so sessions, API keys and
   * run tokens are refused (403) and `roles` is empty. The handler is called without a principal.
   */
  organisationTokenOnly?: boolean;
}

/**
 * What a request without a credential is counted against before anything else: the client
 * address's anonymous allowance, or its allowance for the public key set. Routes that take a
 * credential are counted against the credential's own (and its workspace's) allowance instead.
 */
export type RateClass = 'address' | 'key-set';

/** The port the control plane listens on when none is given, and where clients look for it by default. */
export const DEFAULT_PORT = 4200;

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Hono-style path under /api/v1 (or under the server's root, with `root`), e.g. `/flow-runs/:id`. */
  path: string;
  /** The path is from the server's root rather than under /api/v1: where a scraper or a reader looks for it. */
  root?: boolean;
  summary: string;
  access: RouteAccess;
  /** Counted per client address before anything else; see RateClass. */
  rate?: RateClass;
  params?: z.ZodObject;
  query?: z.ZodType;
  body?: z.ZodType;
  /** The largest request body taken, in bytes; 1 MiB unless set. */
  maxBodyBytes?: number;
  response: z.ZodType;
  /** HTTP status of a success; 200 unless set. */
  status?: 200 | 201 | 202 | 204 | 302;
  /** Request headers the route reads (documented in OpenAPI). */
  headers?: readonly string[];
  /** The response is this stream of events, each one's data matching `response`, instead of one JSON body. */
  stream?: 'text/event-stream' | 'application/x-ndjson';
  /**
   * A success that is not one `application/json` body: a JSON document of another media type, a
   * text document, a page or a script (`response` is then a string), or a redirect (to its
   * Location, without a body).
   */
  produces?:
    | 'application/jwk-set+json'
    | 'application/scim+json'
    | 'text/plain'
    | 'text/csv'
    | 'text/html'
    | 'text/javascript'
    | 'redirect';
  /** The Cache-Control of a success (a sign-in's cookies, a public document's lifetime). */
  cacheControl?: 'no-store' | 'public, max-age=300';
  /**
   * The handler notes the route's audit entries itself instead of the caller being noted for every
   * mutation: who acts is known only once it ran (signing in), or what changes belongs to another
   * workspace than the caller's (accepting an invitation).
   */
  audit?: 'handler';
}
const READERS = ['owner', 'admin', 'developer', 'runner', 'viewer'] as const;
const RUNNERS = ['owner', 'admin', 'developer', 'runner'] as const;
const DEVELOPERS = ['owner', 'admin', 'developer'] as const;
const ADMINS = ['owner', 'admin'] as const;
const WORKERS = ['owner', 'admin', 'worker'] as const;

const EVERYONE = [...READERS, 'worker'] as const;
const MiB = 1024 * 1024;
/** Log batches carry up to 1,000 lines of 32 KiB. */
const LOG_BATCH_BYTES = 5 * MiB;

const IdParam = z.strictObject({ id: Id });
/** The organisation's directory (SCIM): an organisation token with the `scim` scope, and nothing else. */
const SCIM_ACCESS = { roles: [], organisationToken: 'scim', organisationTokenOnly: true } as const satisfies RouteAccess;
const scim = <const T extends Omit<RouteDef, 'access' | 'produces' | 'cacheControl'>>(def: T) =>
  route({ ...def, access: SCIM_ACCESS, produces: 'application/scim+json', cacheControl: 'no-store' } as const);
const PoolParam = z.strictObject({ pool: Name });
const PoolQueueParam = z.strictObject({ pool: Name, queue: Name });
const DeploymentNameParam = z.strictObject({ flow: Name, name: Name });
const TagParam = z.strictObject({ tag: Tag });
export const NoContent = z.null();
/** A query string a route does not read: taken as it comes, as a browser or scraper may add to it. */
const AnyQuery = z.looseObject({});
/** One query value as a browser sends it; a repeated key is taken at its first value. */
const QueryText = z.union([z.string(), z.array(z.string())]).optional();
const OpenApiDocument = z.looseObject({ openapi: z.string(), paths: z.record(z.string(), z.unknown()) });
const JsonWebKeySet = z.object({ keys: z.array(z.looseObject({ kty: z.string(), kid: z.string() })) });

function route<const T extends RouteDef>(def: T): T {
  return def;
}

/** Every API route. The server mounts these, the client calls them, the OpenAPI document is made from them. */
export const routes = {
  whoami: route({
    method: 'GET',
    path: '/whoami',
    summary: 'The caller and its workspace',
    access: { roles: EVERYONE, runToken: false },
    response: WhoAmIResponse,
  }),
  apiKeysCreate: route({
    method: 'POST',
    path: '/api-keys',
    summary: 'Create an API key; the key is shown once',
    access: { roles: ADMINS },
    body: ApiKeyCreateRequest,
    response: ApiKeyCreateResponse,
    status: 201,
  }),
  apiKeysList: route({
    method: 'GET',
    path: '/api-keys',
    summary: 'List API keys (never their secrets)',
    access: { roles: ADMINS },
    response: ApiKeyListResponse,
  }),
  apiKeysRevoke: route({
    method: 'DELETE',
    path: '/api-keys/:id',
    summary: 'Revoke an API key',
    access: { roles: ADMINS, whileArchived: true },
    params: IdParam,
    response: ApiKey,
  }),
  flowsList: route({
    method: 'GET',
    path: '/flows',
    summary: 'List flows',
    access: { roles: READERS },
    query: z.strictObject({
      limit: PageLimit,
      cursor: z.string().max(500).optional(),
    }),
    response: FlowListResponse,
  }),
  flowsGet: route({
    method: 'GET',
    path: '/flows/:id',
    summary: 'Get a flow',
    access: { roles: READERS },
    params: IdParam,
    response: Flow,
  }),
  deploymentsUpsert: route({
    method: 'PUT',
    path: '/deployments',
    summary: 'Create or update a deployment, identified by flow name and deployment name',
    access: { roles: DEVELOPERS },
    body: DeploymentUpsertRequest,
    response: DeploymentUpsertResponse,
  }),
  deploymentsList: route({
    method: 'GET',
    path: '/deployments',
    summary: 'List deployments',
    access: { roles: READERS },
    query: DeploymentListQuery,
    response: DeploymentListResponse,
  }),
  deploymentsGet: route({
    method: 'GET',
    path: '/deployments/:id',
    summary: 'Get a deployment',
    access: { roles: READERS },
    params: IdParam,
    response: Deployment,
  }),
  deploymentsGetByName: route({
    method: 'GET',
    path: '/deployments/name/:flow/:name',
    summary: 'Get a deployment by flow name and deployment name',
    access: { roles: READERS },
    params: DeploymentNameParam,
    response: Deployment,
  }),
  deploymentsUpdate: route({
    method: 'PATCH',
    path: '/deployments/:id',
    summary: "Change a deployment's concurrency limit or collision strategy",
    access: { roles: DEVELOPERS },
    params: IdParam,
    body: DeploymentUpdateRequest,
    response: Deployment,
  }),
  deploymentsCreateRun: route({
    method: 'POST',
    path: '/deployments/:id/runs',
    summary: 'Create a flow run of a deployment; honours Idempotency-Key',
    access: { roles: RUNNERS },
    params: IdParam,
    body: FlowRunCreateRequest,
    response: FlowRunCreateResponse,
    status: 201,
    headers: ['idempotency-key'],
  }),
  poolsCreate: route({
    method: 'POST',
    path: '/work-pools',
    summary: 'Create a work pool (with its default queue)',
    access: { roles: DEVELOPERS },
    body: WorkPoolCreateRequest,
    response: WorkPool,
    status: 201,
  }),
  poolsList: route({
    method: 'GET',
    path: '/work-pools',
    summary: 'List work pools',
    access: { roles: READERS },
    response: WorkPoolListResponse,
  }),
  poolsGet: route({
    method: 'GET',
    path: '/work-pools/:pool',
    summary: 'Get a work pool',
    // Workers read their own pool (a Kubernetes pool's base job template); a key limited to pools reads only those.
    access: { roles: [...READERS, 'worker'] },
    params: PoolParam,
    response: WorkPool,
  }),
  poolsUpdate: route({
    method: 'PATCH',
    path: '/work-pools/:pool',
    summary: 'Update a work pool (pause, limit)',
    access: { roles: DEVELOPERS },
    params: PoolParam,
    body: WorkPoolUpdateRequest,
    response: WorkPool,
  }),
  queuesCreate: route({
    method: 'POST',
    path: '/work-pools/:pool/queues',
    summary: 'Create a work queue in a pool',
    access: { roles: DEVELOPERS },
    params: PoolParam,
    body: WorkQueueCreateRequest,
    response: WorkQueue,
    status: 201,
  }),
  queuesList: route({
    method: 'GET',
    path: '/work-pools/:pool/queues',
    summary: "List a pool's queues",
    access: { roles: READERS },
    params: PoolParam,
    response: WorkQueueListResponse,
  }),
  queuesUpdate: route({
    method: 'PATCH',
    path: '/work-pools/:pool/queues/:queue',
    summary: 'Update a work queue (priority, pause, limit)',
    access: { roles: DEVELOPERS },
    params: PoolQueueParam,
    body: WorkQueueUpdateRequest,
    response: WorkQueue,
  }),
  workersList: route({
    method: 'GET',
    path: '/work-pools/:pool/workers',
    summary: "List a pool's workers with their status",
    access: { roles: READERS },
    params: PoolParam,
    response: WorkerListResponse,
  }),
  poolsMetrics: route({
    method: 'GET',
    path: '/work-pools/:pool/metrics',
    summary: "A pool's backlog and GPU use: queue depth, oldest wait, GPUs requested, free and total, runs running",
    access: { roles: READERS },
    params: PoolParam,
    response: WorkPoolMetrics,
  }),
  workersHeartbeat: route({
    method: 'POST',
    path: '/work-pools/:pool/workers/heartbeat',
    summary: 'Register a worker, renew the leases it holds, and learn which runs to stop',
    access: { roles: WORKERS, whileArchived: true },
    params: PoolParam,
    body: WorkerHeartbeatRequest,
    response: WorkerHeartbeatResponse,
  }),
  claim: route({
    method: 'POST',
    path: '/work-pools/:pool/claim',
    summary: 'Claim due runs of the pool (long-polls up to waitMs)',
    access: { roles: WORKERS },
    params: PoolParam,
    body: ClaimRequest,
    response: ClaimResponse,
  }),
  poolRunsAdopt: route({
    method: 'POST',
    path: '/work-pools/:pool/runs/adopt',
    summary: 'Take over the leases of attempts an earlier process of this worker (same name, pool and key) left running',
    access: { roles: WORKERS, whileArchived: true },
    params: PoolParam,
    body: RunAdoptRequest,
    response: RunAdoptResponse,
  }),
  poolRunsSetStates: route({
    method: 'POST',
    path: '/work-pools/:pool/runs/set-states',
    summary: 'Propose states for many runs this worker key holds; each item answered on its own',
    access: { roles: WORKERS, whileArchived: true },
    params: PoolParam,
    body: StateProposalBatchRequest,
    response: StateProposalBatchResponse,
  }),
  poolRunsLogsWrite: route({
    method: 'POST',
    path: '/work-pools/:pool/runs/logs',
    summary: 'Append log batches of many runs this worker key holds; (run, attempt, seq) makes retries safe',
    access: { roles: WORKERS, whileArchived: true },
    params: PoolParam,
    body: LogBatchManyRequest,
    response: LogBatchManyResponse,
    maxBodyBytes: LOG_BATCH_BYTES,
  }),
  flowRunsList: route({
    method: 'GET',
    path: '/flow-runs',
    summary: 'List flow runs, newest first, with filters and keyset pagination',
    access: { roles: READERS },
    query: FlowRunListQuery,
    response: FlowRunListResponse,
  }),
  flowRunsGet: route({
    method: 'GET',
    path: '/flow-runs/:id',
    summary: 'Get a flow run',
    access: { roles: READERS, runToken: true },
    params: IdParam,
    response: FlowRun,
  }),
  flowRunsSetState: route({
    method: 'POST',
    path: '/flow-runs/:id/set-state',
    summary: 'Propose a new state; answered ACCEPT, REJECT, WAIT or ABORT',
    access: { roles: [...RUNNERS, 'worker'], runToken: true },
    params: IdParam,
    body: StateProposalRequest,
    response: StateProposalResponse,
    maxBodyBytes: LOG_BATCH_BYTES,
  }),
  flowRunsStates: route({
    method: 'GET',
    path: '/flow-runs/:id/states',
    summary: "A run's state history, oldest first",
    access: { roles: READERS, runToken: true },
    params: IdParam,
    response: StateHistoryResponse,
  }),
  flowRunsAttempts: route({
    method: 'GET',
    path: '/flow-runs/:id/attempts',
    summary: "A run's attempts, first first: worker, times, code digest, final state and exit code",
    access: { roles: READERS, runToken: true },
    params: IdParam,
    response: FlowRunAttemptsResponse,
  }),
  taskRunsCreate: route({
    method: 'POST',
    path: '/flow-runs/:id/task-runs',
    summary: 'Record a task run (idempotent by id)',
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: TaskRunCreateRequest,
    response: TaskRunResponse,
    status: 201,
  }),
  taskRunsList: route({
    method: 'GET',
    path: '/flow-runs/:id/task-runs',
    summary: "A page of a run's task runs, oldest first, by state or task name",
    access: { roles: READERS, runToken: true },
    params: IdParam,
    query: TaskRunListQuery,
    response: TaskRunPageResponse,
  }),
  taskRunsSummary: route({
    method: 'GET',
    path: '/flow-runs/:id/task-runs/summary',
    summary: "A run's task runs counted by state and by task name, and their activity over time",
    access: { roles: READERS },
    params: IdParam,
    response: TaskRunSummaryResponse,
  }),
  taskRunsBatch: route({
    method: 'POST',
    path: '/flow-runs/:id/task-runs/batch',
    summary: 'Record many task-run creations and state changes in order (idempotent by task-run id and sequence)',
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: TaskRunBatchRequest,
    response: TaskRunBatchResponse,
  }),
  taskRunsSetState: route({
    method: 'POST',
    path: '/flow-runs/:runId/task-runs/:id/set-state',
    summary: "Set a task run's state",
    access: { roles: ['worker'], runToken: true },
    params: z.strictObject({ runId: Id, id: Id }),
    body: TaskRunSetStateRequest,
    response: TaskRunResponse,
  }),
  logsWrite: route({
    method: 'POST',
    path: '/flow-runs/:id/logs',
    summary: 'Append a batch of log lines; (attempt, seq) makes retries safe',
    access: { roles: ['worker'], runToken: true, workerHistory: true, whileArchived: true },
    params: IdParam,
    body: LogBatchRequest,
    response: LogBatchResponse,
    maxBodyBytes: LOG_BATCH_BYTES,
  }),
  logsRead: route({
    method: 'GET',
    path: '/flow-runs/:id/logs',
    summary: "Read a run's logs in order, from a cursor",
    access: { roles: READERS, runToken: true },
    params: IdParam,
    query: LogReadQuery,
    response: LogReadResponse,
  }),
  // ---- subflows and artifacts ----
  flowRunsCreateChild: route({
    method: 'POST',
    path: '/flow-runs/:id/child-runs',
    summary: 'Start a subflow run of this run, RUNNING in the same process (idempotent by id)',
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: FlowRunChildCreateRequest,
    response: FlowRunCreateResponse,
    status: 201,
  }),
  flowRunsChildren: route({
    method: 'GET',
    path: '/flow-runs/:id/child-runs',
    summary: "A run's subflow runs, oldest first",
    access: { roles: READERS, runToken: true },
    params: IdParam,
    response: FlowRunChildListResponse,
  }),
  flowRunsCreateDeploymentRun: route({
    method: 'POST',
    path: '/flow-runs/:id/deployment-runs',
    summary: "Start a run of a deployment (any pool) as this run's child, queued like any run (idempotent by key in the run)",
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: DeploymentRunCreateRequest,
    response: FlowRunCreateResponse,
    status: 201,
  }),
  flowRunsReportEnvironment: route({
    method: 'PUT',
    path: '/flow-runs/:id/attempts/:attempt/environment',
    summary: 'Record where an attempt runs (worker version, executor, Node version, image); only its holder may',
    access: { roles: ['worker'], runToken: true },
    params: AttemptParams,
    body: AttemptEnvironmentReport,
    response: AttemptEnvironmentResponse,
  }),
  flowRunsManifest: route({
    method: 'GET',
    path: '/flow-runs/:id/manifest',
    summary:
      "Everything needed to reproduce a run: pinned code, entrypoint, parameters, job variables, each attempt's environment, input asset versions",
    access: { roles: READERS },
    params: IdParam,
    response: FlowRunManifest,
  }),
  flowRunsReproduce: route({
    method: 'POST',
    path: '/flow-runs/:id/reproduce',
    summary: "Create a new run from a run's manifest: the same deployment version, parameters and job variables",
    access: { roles: RUNNERS },
    params: IdParam,
    body: FlowRunReproduceRequest,
    response: FlowRunCreateResponse,
    status: 201,
  }),
  artifactsCreate: route({
    method: 'POST',
    path: '/flow-runs/:id/artifacts',
    summary: 'Record an artifact of a run (idempotent by id; a progress artifact is updated in place)',
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: ArtifactCreateRequest,
    response: ArtifactResponse,
    status: 201,
  }),
  artifactsList: route({
    method: 'GET',
    path: '/flow-runs/:id/artifacts',
    summary: "A run's artifacts, oldest first",
    access: { roles: READERS, runToken: true },
    params: IdParam,
    response: ArtifactListResponse,
  }),
  artifactsLatest: route({
    method: 'GET',
    path: '/artifacts',
    summary: 'The latest artifact of a key (or of every key), most recently updated first',
    access: { roles: READERS },
    query: ArtifactLatestQuery,
    response: ArtifactListResponse,
  }),
  // ---- dashboard: browser sessions, live run events, statistics ----
  authSessionCreate: route({
    method: 'POST',
    path: '/auth/session',
    summary: 'Sign in with a one-time sign-in token or an API key; sets the session and CSRF cookies',
    access: { roles: [], anonymous: true, sameOrigin: true },
    body: AuthSessionCreateRequest,
    response: AuthSessionCreateResponse,
    rate: 'address',
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  authSessionDelete: route({
    method: 'DELETE',
    path: '/auth/session',
    summary: 'Sign out: revoke the session and clear its cookies',
    access: { roles: [], anonymous: true, optionalSession: true },
    response: AuthSessionDeleteResponse,
    status: 204,
    headers: ['x-outpost-csrf'],
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  flowRunsEvents: route({
    method: 'GET',
    path: '/flow-runs/events',
    summary: "Server-Sent Events: each change of a flow run in the caller's workspace, as the run's JSON",
    access: { roles: READERS },
    response: FlowRunEvent,
    stream: 'text/event-stream',
  }),
  statsOverview: route({
    method: 'GET',
    path: '/stats/overview',
    summary: 'Run counts by state over a window, failure rate, late runs and the busiest deployments',
    access: { roles: READERS },
    query: StatsOverviewQuery,
    response: StatsOverviewResponse,
  }),
  // ---- run lifecycle: cancel, retry, global concurrency limits ----
  flowRunsCancel: route({
    method: 'POST',
    path: '/flow-runs/:id/cancel',
    summary: 'Cancel a run: a waiting run is CANCELLED at once, a held one goes CANCELLING until its worker stops it',
    access: { roles: RUNNERS },
    params: IdParam,
    body: FlowRunActionRequest,
    response: StateProposalResponse,
  }),
  flowRunsRetry: route({
    method: 'POST',
    path: '/flow-runs/:id/retry',
    summary: 'Retry a finished run as a new attempt, due now',
    access: { roles: RUNNERS },
    params: IdParam,
    body: FlowRunActionRequest,
    response: StateProposalResponse,
  }),
  concurrencyLimitsCreate: route({
    method: 'POST',
    path: '/concurrency-limits',
    summary: 'Limit how many runs carrying a tag may be active at once, across pools',
    access: { roles: DEVELOPERS },
    body: ConcurrencyLimitCreateRequest,
    response: ConcurrencyLimit,
    status: 201,
  }),
  concurrencyLimitsList: route({
    method: 'GET',
    path: '/concurrency-limits',
    summary: 'List tag concurrency limits with the slots in use',
    access: { roles: READERS },
    response: ConcurrencyLimitListResponse,
  }),
  concurrencyLimitsGet: route({
    method: 'GET',
    path: '/concurrency-limits/:tag',
    summary: "Get a tag's concurrency limit",
    access: { roles: READERS },
    params: TagParam,
    response: ConcurrencyLimit,
  }),
  concurrencyLimitsUpdate: route({
    method: 'PATCH',
    path: '/concurrency-limits/:tag',
    summary: "Change a tag's concurrency limit",
    access: { roles: DEVELOPERS },
    params: TagParam,
    body: ConcurrencyLimitUpdateRequest,
    response: ConcurrencyLimit,
  }),
  concurrencyLimitsDelete: route({
    method: 'DELETE',
    path: '/concurrency-limits/:tag',
    summary: "Remove a tag's concurrency limit; runs waiting on it become claimable",
    access: { roles: DEVELOPERS },
    params: TagParam,
    response: ConcurrencyLimit,
  }),
  // ---- notifications: channels and the delivery outbox ----
  notificationChannelsCreate: route({
    method: 'POST',
    path: '/notification-channels',
    summary: 'Create a notification channel (webhook, Slack or email); a webhook signing secret is shown once',
    access: { roles: DEVELOPERS },
    body: NotificationChannelCreateRequest,
    response: NotificationChannelWithSecret,
    status: 201,
  }),
  notificationChannelsList: route({
    method: 'GET',
    path: '/notification-channels',
    summary: "The workspace's notification channels (never their secrets)",
    access: { roles: READERS },
    response: NotificationChannelListResponse,
  }),
  notificationChannelsGet: route({
    method: 'GET',
    path: '/notification-channels/:name',
    summary: 'One notification channel',
    access: { roles: READERS },
    params: NotificationChannelParam,
    response: NotificationChannel,
  }),
  notificationChannelsUpdate: route({
    method: 'PATCH',
    path: '/notification-channels/:name',
    summary: "Change a channel's address, templates or enabled flag, or rotate its signing secret",
    access: { roles: DEVELOPERS },
    params: NotificationChannelParam,
    body: NotificationChannelUpdateRequest,
    response: NotificationChannelWithSecret,
  }),
  notificationChannelsDelete: route({
    method: 'DELETE',
    path: '/notification-channels/:name',
    summary: 'Delete a channel; its pending deliveries become dead letters, its history stays',
    access: { roles: DEVELOPERS },
    params: NotificationChannelParam,
    response: NoContent,
    status: 204,
  }),
  notificationChannelsTest: route({
    method: 'POST',
    path: '/notification-channels/:name/test',
    summary: 'Send a test notification through the channel (a delivery like any other)',
    access: { roles: DEVELOPERS },
    params: NotificationChannelParam,
    response: NotificationDelivery,
    status: 202,
  }),
  notificationDeliveriesList: route({
    method: 'GET',
    path: '/notification-deliveries',
    summary: 'Notification deliveries, newest first: pending, sent and dead letters',
    access: { roles: READERS },
    query: NotificationDeliveryListQuery,
    response: NotificationDeliveryListResponse,
  }),
  notificationDeliveriesGet: route({
    method: 'GET',
    path: '/notification-deliveries/:id',
    summary: 'One notification delivery with its attempts and last error',
    access: { roles: READERS },
    params: IdParam,
    response: NotificationDelivery,
  }),
  notificationDeliveriesRetry: route({
    method: 'POST',
    path: '/notification-deliveries/:id/retry',
    summary: 'Send a dead (or pending) delivery again now, with a fresh set of attempts',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: NotificationDelivery,
  }),
  mailRecipientsConfirm: route({
    method: 'POST',
    path: '/mail-recipients/confirm',
    summary:
      "Use the link mailed to an email channel's external recipient: the address confirms it receives the workspace's notifications",
    access: { roles: [], anonymous: true, sameOrigin: true },
    body: MailRecipientConfirmRequest,
    response: MailRecipientConfirmResponse,
    rate: 'address',
    cacheControl: 'no-store',
  }),
  alertRulesCreate: route({
    method: 'POST',
    path: '/alert-rules',
    summary: 'Create a built-in alert rule: an automation that notifies a channel (run failed, late, pool without worker…)',
    access: { roles: DEVELOPERS },
    body: AlertRuleCreateRequest,
    response: Automation,
    status: 201,
  }),
  alertRulesList: route({
    method: 'GET',
    path: '/alert-rules',
    summary: 'The automations built-in alert rules created',
    access: { roles: READERS },
    response: z.strictObject({ items: z.array(Automation) }),
  }),
  // ---- schedules and backfills ----
  schedulesList: route({
    method: 'GET',
    path: '/deployments/:id/schedules',
    summary: "A deployment's schedules",
    access: { roles: READERS },
    params: IdParam,
    response: ScheduleListResponse,
  }),
  schedulesUpdate: route({
    method: 'PATCH',
    path: '/deployments/:id/schedules/:slug',
    summary: 'Pause, resume or redefine one schedule of a deployment (cron, interval, timezone, parameters)',
    access: { roles: DEVELOPERS },
    params: z.strictObject({ id: Id, slug: Name }),
    body: ScheduleUpdateRequest,
    response: Schedule,
  }),
  deploymentsPause: route({
    method: 'POST',
    path: '/deployments/:id/pause',
    summary: 'Pause a deployment: its runs are not claimed and its schedules create none',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Deployment,
  }),
  deploymentsResume: route({
    method: 'POST',
    path: '/deployments/:id/resume',
    summary: 'Resume a paused deployment; scheduled times missed while paused are skipped',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Deployment,
  }),
  backfillsCreate: route({
    method: 'POST',
    path: '/deployments/:id/backfills',
    summary:
      "Backfill a deployment over a schedule's times in [start, end) or its partitions: runs are created as earlier ones finish, at most maxConcurrent in flight",
    access: { roles: DEVELOPERS },
    params: IdParam,
    body: BackfillCreateRequest,
    response: Backfill,
    status: 201,
  }),
  backfillsList: route({
    method: 'GET',
    path: '/deployments/:id/backfills',
    summary: "A deployment's backfills, newest first",
    access: { roles: READERS },
    params: IdParam,
    query: BackfillListQuery,
    response: BackfillListResponse,
  }),
  backfillsGet: route({
    method: 'GET',
    path: '/backfills/:id',
    summary: 'A backfill with its progress (partitions by status, runs by state)',
    access: { roles: READERS },
    params: IdParam,
    response: Backfill,
  }),
  backfillsCancel: route({
    method: 'POST',
    path: '/backfills/:id/cancel',
    summary: 'Cancel a backfill: its runs not yet started are cancelled, none is claimed any more',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Backfill,
  }),
  backfillsCreateForAssets: route({
    method: 'POST',
    path: '/backfills',
    summary: 'Backfill assets over partitions: one run per partition (or one over the range), at most maxConcurrent in flight',
    access: { roles: RUNNERS },
    body: AssetBackfillCreateRequest,
    response: Backfill,
    status: 201,
  }),
  backfillsListAll: route({
    method: 'GET',
    path: '/backfills',
    summary: "The workspace's backfills, newest first",
    access: { roles: READERS },
    query: BackfillWorkspaceListQuery,
    response: BackfillListResponse,
  }),
  backfillsPause: route({
    method: 'POST',
    path: '/backfills/:id/pause',
    summary: 'Pause a backfill: it creates no new run; runs in flight go on',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Backfill,
  }),
  backfillsResume: route({
    method: 'POST',
    path: '/backfills/:id/resume',
    summary: 'Resume a paused backfill',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Backfill,
  }),
  backfillsRetryFailed: route({
    method: 'POST',
    path: '/backfills/:id/retry-failed',
    summary: 'Re-queue the failed and blocked partitions of a backfill: each gets a new run, within maxConcurrent',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Backfill,
  }),
  backfillsPartitions: route({
    method: 'GET',
    path: '/backfills/:id/partitions',
    summary: "A backfill's partitions that have (or had) a run, in order, each with its status and run",
    access: { roles: READERS },
    params: IdParam,
    query: BackfillPartitionsQuery,
    response: BackfillPartitionsResponse,
  }),
  // ---- assets: catalog, lineage, partitions, checks ----
  assetsList: route({
    method: 'GET',
    path: '/assets',
    summary: "The workspace's assets with health and staleness, by key",
    access: { roles: READERS },
    query: AssetListQuery,
    response: AssetListResponse,
  }),
  assetsGet: route({
    method: 'GET',
    path: '/assets/detail',
    summary: 'One asset: definition, latest materialisation, checks, health and why it is stale',
    access: { roles: READERS },
    query: AssetKeyQuery,
    response: Asset,
  }),
  assetsLineage: route({
    method: 'GET',
    path: '/assets/lineage',
    summary: 'Every asset of the workspace as a graph: nodes with health, edges upstream → downstream',
    access: { roles: READERS },
    response: AssetLineageResponse,
  }),
  assetsMaterializations: route({
    method: 'GET',
    path: '/assets/materializations',
    summary: "An asset's materialisations, newest first",
    access: { roles: READERS },
    query: AssetMaterializationListQuery,
    response: AssetMaterializationListResponse,
  }),
  assetsMaterializationLineage: route({
    method: 'GET',
    path: '/assets/materializations/lineage',
    summary:
      'What produced one materialisation (the latest by default): upstream materialisations it consumed, recursively, its run and code, checks and waivers, registrations',
    access: { roles: READERS },
    query: AssetMaterializationLineageQuery,
    response: AssetMaterializationLineageResponse,
  }),
  assetsPartitions: route({
    method: 'GET',
    path: '/assets/partitions',
    summary: "A partitioned asset's partitions in definition order, each with its status",
    access: { roles: READERS },
    query: AssetPartitionsQuery,
    response: AssetPartitionsResponse,
  }),
  assetsCheckResults: route({
    method: 'GET',
    path: '/assets/check-results',
    summary: "An asset's check results, newest first",
    access: { roles: READERS },
    query: AssetCheckResultListQuery,
    response: AssetCheckResultListResponse,
  }),
  assetsEvaluations: route({
    method: 'GET',
    path: '/assets/evaluations',
    summary: 'What the asset automation decided for an asset, newest first: runs requested and why, or why not',
    access: { roles: READERS },
    query: AssetEvaluationListQuery,
    response: AssetEvaluationListResponse,
  }),
  assetsMaterialize: route({
    method: 'POST',
    path: '/assets/materialize',
    summary: 'Materialise assets (and optionally their upstream or downstream): one run, or a backfill over partitions',
    access: { roles: RUNNERS },
    body: AssetMaterializeRequest,
    response: AssetMaterializeResponse,
    status: 201,
  }),
  assetsWaive: route({
    method: 'POST',
    path: '/assets/waivers',
    summary: "Waive a blocking check's failure so downstream materialisation may go on (audited)",
    access: { roles: ADMINS },
    body: AssetWaiveRequest,
    response: AssetCheckWaiver,
    status: 201,
  }),
  assetEventsReport: route({
    method: 'POST',
    path: '/flow-runs/:id/asset-events',
    summary: "Record a run's materialisations, failures and check results (idempotent by event id)",
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: AssetEventBatchRequest,
    response: AssetEventBatchResponse,
  }),
  assetGate: route({
    method: 'GET',
    path: '/flow-runs/:id/asset-gate',
    summary: 'What a run of the assets flow must not materialise (blocked upstream) or need not (done by an earlier attempt)',
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    response: AssetGateResponse,
  }),
  flowRunWaitsCreate: route({
    method: 'POST',
    path: '/flow-runs/:id/waits',
    summary:
      "Begin (or, by key, find again) one of a run's durable waits; resolves at once when what it waits for already happened",
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: WaitCreateRequest,
    response: WaitResponse,
  }),
  flowRunSuspend: route({
    method: 'POST',
    path: '/flow-runs/:id/suspend',
    summary: "Park a run on a waiting wait (PAUSED, lease released), recording where its completed tasks' results are",
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: SuspendRequest,
    response: SuspendResponse,
  }),
  flowRunReplay: route({
    method: 'GET',
    path: '/flow-runs/:id/replay',
    summary: 'The recorded results an attempt after a suspension answers its completed tasks from',
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    response: ReplayResponse,
  }),
  waitsList: route({
    method: 'GET',
    path: '/waits',
    summary: "The workspace's durable waits, newest first (the approvals inbox: status=WAITING&kind=approval)",
    access: { roles: READERS },
    query: WaitListQuery,
    response: WaitListResponse,
  }),
  waitsGet: route({
    method: 'GET',
    path: '/waits/:id',
    summary: 'One wait; with holdSeconds, answers when it stops WAITING or the hold ends',
    access: { roles: READERS, runToken: true },
    params: IdParam,
    query: WaitGetQuery,
    response: WaitResponse,
  }),
  waitsDecide: route({
    method: 'POST',
    path: '/waits/:id/decide',
    summary: "Approve or reject an approval wait (a user with one of the wait's roles; the form is checked against its schema)",
    access: { roles: DEVELOPERS },
    params: IdParam,
    body: ApprovalDecideRequest,
    response: WaitResponse,
  }),
  waitTokensComplete: route({
    method: 'POST',
    path: '/wait-tokens/:token/complete',
    summary: 'Complete a wait token with a value: its wait resolves now, or at once when a flow begins waiting for it',
    access: { roles: RUNNERS },
    params: WaitTokenParams,
    body: WaitTokenCompleteRequest,
    response: WaitTokenCompleteResponse,
  }),
  dynamicPartitionsList: route({
    method: 'GET',
    path: '/dynamic-partitions/:name',
    summary: 'The keys of a dynamic partition set, in the order they were added',
    access: { roles: READERS, runToken: true },
    params: DynamicPartitionsParams,
    response: DynamicPartitionKeysResponse,
  }),
  dynamicPartitionsAdd: route({
    method: 'POST',
    path: '/dynamic-partitions/:name',
    summary: 'Add keys to a dynamic partition set (keys already there are kept once)',
    access: { roles: [...DEVELOPERS, 'worker'], runToken: true },
    params: DynamicPartitionsParams,
    body: DynamicPartitionKeysRequest,
    response: DynamicPartitionKeysResponse,
  }),
  dynamicPartitionsDelete: route({
    method: 'DELETE',
    path: '/dynamic-partitions/:name/:key',
    summary: 'Remove one key from a dynamic partition set (its materialisations stay)',
    access: { roles: DEVELOPERS },
    params: DynamicPartitionKeyParams,
    response: NoContent,
    status: 204,
  }),
  // ---- governance: people, single sign-on, audit log ----
  authPasswordSignIn: route({
    method: 'POST',
    path: '/auth/password',
    summary: 'Sign in with email and password; sets the session and CSRF cookies (rate-limited per account and address)',
    access: { roles: [], anonymous: true, sameOrigin: true },
    body: PasswordSignInRequest,
    response: AuthSessionCreateResponse,
    rate: 'address',
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  authPasswordChange: route({
    method: 'POST',
    path: '/auth/password/change',
    summary: 'Change a password with the current one; ends every session of the account',
    access: { roles: [], anonymous: true, sameOrigin: true },
    body: PasswordChangeRequest,
    response: NoContent,
    status: 204,
    rate: 'address',
    audit: 'handler',
  }),
  authPasswordSetup: route({
    method: 'POST',
    path: '/auth/password/setup',
    summary: 'Set a password with a one-time setup token; ends every session of the account',
    access: { roles: [], anonymous: true, sameOrigin: true },
    body: PasswordSetupRequest,
    response: NoContent,
    status: 204,
    rate: 'address',
    audit: 'handler',
  }),
  authPasswordReset: route({
    method: 'POST',
    path: '/auth/password-reset',
    summary:
      'Ask for a password reset link: answered the same whether or not an account has the address; the link goes to the address',
    access: { roles: [], anonymous: true, sameOrigin: true },
    body: PasswordResetRequest,
    response: PasswordResetResponse,
    status: 202,
    rate: 'address',
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  authPasswordResetConfirm: route({
    method: 'POST',
    path: '/auth/password-reset/confirm',
    summary: `Use a password reset link (one-time, ${PASSWORD_RESET_MINUTES} minutes): sets the password, confirms the address, ends every session of the account`,
    access: { roles: [], anonymous: true, sameOrigin: true },
    body: PasswordResetConfirmRequest,
    response: PasswordResetConfirmResponse,
    rate: 'address',
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  membersList: route({
    method: 'GET',
    path: '/members',
    summary: "The workspace's people and their roles",
    access: { roles: ADMINS },
    response: MemberListResponse,
  }),
  membersAdd: route({
    method: 'POST',
    path: '/members',
    summary:
      'Add a person by email: a new address gets an account this workspace manages (with a setup token, shown once); an existing account is invited',
    access: { roles: ADMINS },
    body: MemberAddRequest,
    response: MemberAddResponse,
    status: 201,
  }),
  membersUpdate: route({
    method: 'PATCH',
    path: '/members/:userId',
    summary: "Change a person's role (owners alone grant or take away owner)",
    access: { roles: ADMINS, whileArchived: true },
    params: MemberParams,
    body: MemberUpdateRequest,
    response: Member,
  }),
  membersRemove: route({
    method: 'DELETE',
    path: '/members/:userId',
    summary: 'Remove a person from the workspace; their sessions in it end',
    access: { roles: ADMINS, whileArchived: true },
    params: MemberParams,
    response: NoContent,
    status: 204,
  }),
  membersSetupToken: route({
    method: 'POST',
    path: '/members/:userId/setup-token',
    summary: 'A new one-time password setup token, for a person whose account this workspace manages',
    access: { roles: ADMINS },
    params: MemberParams,
    response: SetupTokenResponse,
    status: 201,
  }),
  authEmailConfirm: route({
    method: 'POST',
    path: '/auth/email/confirm',
    summary: 'Use an emailed link: verify the address (choosing a password if needed) and accept the invitation it came with',
    access: { roles: [], anonymous: true, sameOrigin: true },
    body: EmailConfirmRequest,
    response: EmailConfirmResponse,
    rate: 'address',
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  accountInvitationsList: route({
    method: 'GET',
    path: '/account/invitations',
    summary: "The signed-in person's open invitations to other workspaces (once their address is verified)",
    access: { roles: READERS, person: true },
    response: InvitationListResponse,
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  accountInvitationsAccept: route({
    method: 'POST',
    path: '/account/invitations/:workspaceId/accept',
    summary: 'Accept an invitation, as a person signed in with a verified address; the membership becomes active',
    access: { roles: READERS, person: true, whileArchived: true },
    params: InvitationParams,
    response: InvitationAcceptResponse,
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  accountVerificationSend: route({
    method: 'POST',
    path: '/account/verification',
    summary: 'Email the signed-in person a link that verifies their address (the link goes to the address only)',
    access: { roles: READERS, person: true, whileArchived: true },
    response: VerificationSendResponse,
    status: 202,
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  workspacesCreate: route({
    method: 'POST',
    path: '/workspaces',
    summary: `Create a workspace, as a person signed in with a verified address, who becomes its owner (at most ${WORKSPACES_PER_ACCOUNT} per account)`,
    access: { roles: READERS, person: true, whileArchived: true },
    body: WorkspaceCreateRequest,
    response: WorkspaceCreateResponse,
    status: 201,
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  // ---- organisations: the workspaces of one company, its people, and its platform team's view ----
  organisationsList: route({
    method: 'GET',
    path: '/organisations',
    summary: "The signed-in person's organisations, each with the workspaces they can open in it",
    access: { roles: READERS, person: true },
    response: OrganisationListResponse,
    cacheControl: 'no-store',
  }),
  organisationsGet: route({
    method: 'GET',
    path: '/organisations/:org',
    summary: 'One organisation of the signed-in person, with the workspaces they can open in it',
    access: { roles: READERS, person: true },
    params: OrganisationParams,
    response: Organisation,
    cacheControl: 'no-store',
  }),
  organisationsHealth: route({
    method: 'GET',
    path: '/organisations/:org/health',
    summary:
      'How each workspace of the organisation the signed-in person can open is doing: failed, running and late runs, overdue and blocked assets',
    access: { roles: READERS, person: true },
    params: OrganisationParams,
    response: OrganisationHealthResponse,
    cacheControl: 'no-store',
  }),
  organisationsUpdate: route({
    method: 'PATCH',
    path: '/organisations/:org',
    summary: 'Rename the organisation (its owners and admins)',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationParams,
    body: OrganisationUpdateRequest,
    response: Organisation,
  }),
  organisationWorkspacesCreate: route({
    method: 'POST',
    path: '/organisations/:org/workspaces',
    summary: 'Create a workspace in the organisation (its owners and admins); its creator becomes its owner',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationParams,
    body: OrganisationWorkspaceCreateRequest,
    response: OrganisationWorkspace,
    status: 201,
  }),
  organisationWorkspacesUpdate: route({
    method: 'PATCH',
    path: '/organisations/:org/workspaces/:workspace',
    summary: 'Rename a workspace of the organisation (its owners and admins); its slug stays',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationWorkspaceParams,
    body: OrganisationWorkspaceUpdateRequest,
    response: OrganisationWorkspace,
  }),
  organisationWorkspacesArchive: route({
    method: 'POST',
    path: '/organisations/:org/workspaces/:workspace/archive',
    summary:
      'Archive a workspace (owners and admins): its history stays readable, its schedules, automations, sensors and claims stop, and every other change is refused; runs under way finish',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationWorkspaceParams,
    response: OrganisationWorkspace,
  }),
  organisationWorkspacesRestore: route({
    method: 'POST',
    path: '/organisations/:org/workspaces/:workspace/restore',
    summary: 'Restore an archived workspace (owners and admins): it takes changes and work again',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationWorkspaceParams,
    response: OrganisationWorkspace,
  }),
  organisationMembersList: route({
    method: 'GET',
    path: '/organisations/:org/members',
    summary:
      "The organisation's people in the order they joined it, a page at a time (owners, admins and auditors): each one's organisation role and workspaces",
    access: { roles: READERS, person: true },
    params: OrganisationParams,
    query: OrganisationMembersQuery,
    response: OrganisationMemberListResponse,
    cacheControl: 'no-store',
  }),
  organisationMembersUpdate: route({
    method: 'PATCH',
    path: '/organisations/:org/members/:userId',
    summary: "Change a person's organisation role (owners alone grant or take away owner and admin)",
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationMemberParams,
    body: OrganisationMemberUpdateRequest,
    response: OrganisationMember,
  }),
  organisationMembersRemove: route({
    method: 'DELETE',
    path: '/organisations/:org/members/:userId',
    summary:
      'Remove a person from the organisation and every one of its workspaces (owners and admins); their sessions in them end at once',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationMemberParams,
    response: NoContent,
    status: 204,
  }),
  organisationWorkspaceMembersPut: route({
    method: 'PUT',
    path: '/organisations/:org/workspaces/:workspace/members/:userId',
    summary: 'Give a person of the organisation a role in one of its workspaces, or change it (owners and admins)',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationWorkspaceMemberParams,
    body: OrganisationWorkspaceMemberPutRequest,
    response: OrganisationWorkspaceMember,
  }),
  organisationWorkspaceMembersRemove: route({
    method: 'DELETE',
    path: '/organisations/:org/workspaces/:workspace/members/:userId',
    summary: 'Remove a person from one workspace of the organisation (owners and admins); their sessions in it end',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationWorkspaceMemberParams,
    response: NoContent,
    status: 204,
  }),
  organisationWorkspaceQuotasList: route({
    method: 'GET',
    path: '/organisations/:org/workspaces/:workspace/quotas',
    summary:
      "A workspace's quotas (the organisation's owners, admins and auditors): the operator's limit, the organisation's own, the lower one the workspace is held to, and what counts now",
    access: { roles: READERS, person: true },
    params: OrganisationWorkspaceParams,
    response: OrganisationQuotaListResponse,
  }),
  organisationWorkspaceQuotasPut: route({
    method: 'PUT',
    path: '/organisations/:org/workspaces/:workspace/quotas/:name',
    summary:
      "Set the organisation's limit of one of a workspace's quotas, at most the operator's, or take it away with null (owners and admins)",
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationQuotaParams,
    body: OrganisationQuotaPutRequest,
    response: OrganisationQuota,
  }),
  organisationGroupsList: route({
    method: 'GET',
    path: '/organisations/:org/groups',
    summary:
      "The organisation's directory groups by name, each with its member count and the role it grants in each workspace (its owners, admins and auditors)",
    access: { roles: READERS, person: true },
    params: OrganisationParams,
    query: OrganisationGroupsQuery,
    response: OrganisationGroupsResponse,
    cacheControl: 'no-store',
  }),
  organisationGroupGet: route({
    method: 'GET',
    path: '/organisations/:org/groups/:id',
    summary:
      'One directory group of the organisation, with the role it grants in each workspace (its owners, admins and auditors)',
    access: { roles: READERS, person: true },
    params: OrganisationGroupParams,
    response: DirectoryGroup,
    cacheControl: 'no-store',
  }),
  organisationGroupMembersList: route({
    method: 'GET',
    path: '/organisations/:org/groups/:id/members',
    summary:
      "A directory group's members by email, each with whether the directory keeps them active (its owners, admins and auditors)",
    access: { roles: READERS, person: true },
    params: OrganisationGroupParams,
    query: OrganisationGroupMembersQuery,
    response: OrganisationGroupMembersResponse,
    cacheControl: 'no-store',
  }),
  organisationGroupRolesPut: route({
    method: 'PUT',
    path: '/organisations/:org/groups/:id/roles',
    summary:
      "Replace the roles a directory group grants in the organisation's workspaces (owners and admins); its members' roles from groups change at once, roles given by hand stay",
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationGroupParams,
    body: PutGroupRolesBody,
    response: DirectoryGroup,
  }),
  organisationDirectoryUserDelete: route({
    method: 'DELETE',
    path: '/organisations/:org/directory/users/:userId',
    summary:
      "Forget a person the organisation's directory provisioned (its owners): the directory's record of them, their groups and the memberships those groups gave end, and so do their sessions in the organisation's workspaces; a person whose account the directory made leaves the organisation. Refused (409) when it would leave a workspace or the organisation without an owner",
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationMemberParams,
    response: NoContent,
    status: 204,
  }),
  organisationSsoGet: route({
    method: 'GET',
    path: '/organisations/:org/sso',
    summary:
      "The organisation's single sign-on: its OpenID Connect provider and the roles its groups claim grants (its owners, admins and auditors; never the client secret); null while it is off",
    access: { roles: READERS, person: true },
    params: OrganisationParams,
    response: OrganisationSso.nullable(),
    cacheControl: 'no-store',
  }),
  organisationSsoPut: route({
    method: 'PUT',
    path: '/organisations/:org/sso',
    summary:
      "Configure the organisation's single sign-on (its owners); a new mapping of groups to roles applies at once to everyone who signed in with it",
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationParams,
    body: OrganisationSsoRequest,
    response: OrganisationSso,
  }),
  organisationSsoDelete: route({
    method: 'DELETE',
    path: '/organisations/:org/sso',
    summary:
      "Turn the organisation's single sign-on off (its owners): the roles its groups claim granted end, and so do the sessions it opened",
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationParams,
    response: NoContent,
    status: 204,
  }),
  organisationSsoDomainVerify: route({
    method: 'POST',
    path: '/organisations/:org/sso/domains/:domain/verify',
    summary:
      "Prove an allowed domain of the organisation's single sign-on by its TXT record (its owners); until then nobody of that domain signs in",
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationDomainParams,
    response: OrganisationSso,
    cacheControl: 'no-store',
  }),
  organisationTokensList: route({
    method: 'GET',
    path: '/organisations/:org/tokens',
    summary: "The organisation's tokens, live and revoked (its owners and admins)",
    access: { roles: READERS, person: true },
    params: OrganisationParams,
    response: OrganisationTokenListResponse,
  }),
  organisationTokensCreate: route({
    method: 'POST',
    path: '/organisations/:org/tokens',
    summary: 'Make an organisation token, e.g. for a SIEM to pull the audit export (its owners and admins); shown once',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationParams,
    body: OrganisationTokenCreateRequest,
    response: OrganisationTokenCreateResponse,
    status: 201,
    cacheControl: 'no-store',
  }),
  organisationTokensRevoke: route({
    method: 'DELETE',
    path: '/organisations/:org/tokens/:id',
    summary: 'Revoke an organisation token (its owners and admins); it is refused from the next call',
    access: { roles: READERS, person: true, whileArchived: true },
    params: OrganisationTokenParams,
    response: NoContent,
    status: 204,
  }),
  organisationAuditExport: route({
    method: 'GET',
    path: '/organisations/:org/audit-log/export',
    summary:
      "Every matching audit entry of the organisation's workspaces as NDJSON, each workspace's in chain order (its owners, admins and auditors, or an organisation token with audit:read); two run at once per organisation, and a third is refused with 429 and Retry-After",
    access: { roles: READERS, person: true, organisationToken: 'audit:read' },
    params: OrganisationParams,
    query: OrganisationAuditExportQuery,
    response: AuditEntry,
    stream: 'application/x-ndjson',
    cacheControl: 'no-store',
  }),
  organisationUsage: route({
    method: 'GET',
    path: '/organisations/:org/usage',
    summary:
      'What each workspace of the organisation used in each month of a range: runs, task runs, compute seconds, log lines and bytes, events, metadata bytes (its owners, admins and auditors, or an organisation token with usage:read)',
    access: { roles: READERS, person: true, organisationToken: 'usage:read' },
    params: OrganisationParams,
    query: OrganisationUsageQuery,
    response: OrganisationUsageResponse,
    cacheControl: 'no-store',
  }),
  organisationUsageExport: route({
    method: 'GET',
    path: '/organisations/:org/usage/export',
    summary:
      "The organisation's usage as CSV, one line per workspace and month, the same figures as GET /organisations/:org/usage (its owners, admins and auditors, or an organisation token with usage:read)",
    access: { roles: READERS, person: true, organisationToken: 'usage:read' },
    params: OrganisationParams,
    query: OrganisationUsageQuery,
    response: z.string(),
    produces: 'text/csv',
    cacheControl: 'no-store',
  }),
  organisationAuditHeads: route({
    method: 'GET',
    path: '/organisations/:org/audit-log/heads',
    summary:
      "The head of each workspace's audit chain: what a complete export must reach (its owners, admins and auditors, or an organisation token with audit:read)",
    access: { roles: READERS, person: true, organisationToken: 'audit:read' },
    params: OrganisationParams,
    response: AuditChainHeadsResponse,
    cacheControl: 'no-store',
  }),
  // ---- the organisation's directory: SCIM 2.0 (RFC 7643, RFC 7644) ----
  scimUsersList: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/Users`,
    summary:
      'SCIM: the people the directory provisioned in the organisation, filtered and paged (an organisation token with scim)',
    params: ScimParams,
    query: ScimListQuery,
    response: ScimUserListResponse,
  }),
  scimUsersCreate: scim({
    method: 'POST',
    path: `${SCIM_BASE_PATH}/Users`,
    summary:
      'SCIM: provision a person: their account, found or made by their email, becomes a member of the organisation (an organisation token with scim)',
    params: ScimParams,
    body: ScimUserRequest,
    maxBodyBytes: SCIM_BODY_BYTES,
    response: ScimUser,
    status: 201,
  }),
  scimUsersGet: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/Users/:id`,
    summary: 'SCIM: one provisioned person (an organisation token with scim)',
    params: ScimResourceParams,
    query: ScimReadQuery,
    response: ScimUser,
  }),
  scimUsersReplace: scim({
    method: 'PUT',
    path: `${SCIM_BASE_PATH}/Users/:id`,
    summary: 'SCIM: replace a provisioned person; active false deprovisions them (an organisation token with scim)',
    params: ScimResourceParams,
    body: ScimUserRequest,
    maxBodyBytes: SCIM_BODY_BYTES,
    response: ScimUser,
  }),
  scimUsersPatch: scim({
    method: 'PATCH',
    path: `${SCIM_BASE_PATH}/Users/:id`,
    summary: 'SCIM: change a provisioned person with add, remove and replace operations (an organisation token with scim)',
    params: ScimResourceParams,
    body: ScimPatchRequest,
    maxBodyBytes: SCIM_BODY_BYTES,
    response: ScimUser,
  }),
  scimUsersDelete: scim({
    method: 'DELETE',
    path: `${SCIM_BASE_PATH}/Users/:id`,
    summary:
      'SCIM: deprovision a person and forget them: every membership in the organisation, its sessions and API keys end (an organisation token with scim)',
    params: ScimResourceParams,
    response: NoContent,
    status: 204,
  }),
  scimGroupsList: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/Groups`,
    summary: "SCIM: the directory's groups, filtered and paged (an organisation token with scim)",
    params: ScimParams,
    query: ScimListQuery,
    response: ScimGroupListResponse,
  }),
  scimGroupsCreate: scim({
    method: 'POST',
    path: `${SCIM_BASE_PATH}/Groups`,
    summary: 'SCIM: make a group of provisioned people; its members get the roles it grants (an organisation token with scim)',
    params: ScimParams,
    body: ScimGroupRequest,
    maxBodyBytes: SCIM_BODY_BYTES,
    response: ScimGroup,
    status: 201,
  }),
  scimGroupsGet: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/Groups/:id`,
    summary: 'SCIM: one group with its members (an organisation token with scim)',
    params: ScimResourceParams,
    query: ScimReadQuery,
    response: ScimGroup,
  }),
  scimGroupsReplace: scim({
    method: 'PUT',
    path: `${SCIM_BASE_PATH}/Groups/:id`,
    summary: "SCIM: replace a group's name and members (an organisation token with scim)",
    params: ScimResourceParams,
    body: ScimGroupRequest,
    maxBodyBytes: SCIM_BODY_BYTES,
    response: ScimGroup,
  }),
  scimGroupsPatch: scim({
    method: 'PATCH',
    path: `${SCIM_BASE_PATH}/Groups/:id`,
    summary: "SCIM: change a group's name or members with add, remove and replace operations (an organisation token with scim)",
    params: ScimResourceParams,
    body: ScimPatchRequest,
    maxBodyBytes: SCIM_BODY_BYTES,
    response: ScimGroup,
  }),
  scimGroupsDelete: scim({
    method: 'DELETE',
    path: `${SCIM_BASE_PATH}/Groups/:id`,
    summary: 'SCIM: delete a group; what it granted its members ends (an organisation token with scim)',
    params: ScimResourceParams,
    response: NoContent,
    status: 204,
  }),
  scimServiceProviderConfig: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/ServiceProviderConfig`,
    summary: 'SCIM: what this service provider supports (an organisation token with scim)',
    params: ScimParams,
    response: ScimServiceProviderConfig,
  }),
  scimResourceTypesList: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/ResourceTypes`,
    summary: 'SCIM: the resource types, User and Group (an organisation token with scim)',
    params: ScimParams,
    response: ScimResourceTypeListResponse,
  }),
  scimResourceTypesGet: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/ResourceTypes/:id`,
    summary: 'SCIM: one resource type (an organisation token with scim)',
    params: ScimResourceParams,
    response: ScimResourceType,
  }),
  scimSchemasList: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/Schemas`,
    summary:
      'SCIM: the schemas of the resources, with the attributes this service provider keeps (an organisation token with scim)',
    params: ScimParams,
    response: ScimSchemaListResponse,
  }),
  scimSchemasGet: scim({
    method: 'GET',
    path: `${SCIM_BASE_PATH}/Schemas/:id`,
    summary: 'SCIM: one schema, by its URN (an organisation token with scim)',
    params: ScimResourceParams,
    response: ScimSchemaDocument,
  }),
  authSessionSwitch: route({
    method: 'POST',
    path: '/auth/session/workspace',
    summary:
      "Move the signed-in person's session to another workspace they can open (a membership, or their organisation role); sets new cookies and ends the old session",
    access: { roles: READERS, person: true, whileArchived: true },
    body: SessionSwitchRequest,
    response: AuthSessionCreateResponse,
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  quotasList: route({
    method: 'GET',
    path: '/quotas',
    summary: "The workspace's quotas: each one's limit and what counts against it now",
    access: { roles: READERS },
    response: QuotaListResponse,
  }),
  oidcConfigGet: route({
    method: 'GET',
    path: '/sso/oidc',
    summary: "The workspace's OpenID Connect single sign-on settings (never the client secret); null while single sign-on is off",
    access: { roles: ADMINS },
    response: OidcConfig.nullable(),
  }),
  oidcConfigPut: route({
    method: 'PUT',
    path: '/sso/oidc',
    summary: 'Configure OpenID Connect single sign-on for the workspace',
    access: { roles: ['owner'] },
    body: OidcConfigRequest,
    response: OidcConfig,
  }),
  oidcConfigDelete: route({
    method: 'DELETE',
    path: '/sso/oidc',
    summary: 'Turn single sign-on off for the workspace',
    access: { roles: ['owner'], whileArchived: true },
    response: NoContent,
    status: 204,
  }),
  auditLogList: route({
    method: 'GET',
    path: '/audit-log',
    summary: 'Audited calls, newest first, with filters and keyset pagination',
    access: { roles: ADMINS },
    query: AuditLogQuery,
    response: AuditLogResponse,
  }),
  auditLogHead: route({
    method: 'GET',
    path: '/audit-log/head',
    summary: "The head of the workspace's audit chain: its newest entry's place and hash",
    access: { roles: ADMINS },
    response: AuditChainHead,
    cacheControl: 'no-store',
  }),
  auditLogExport: route({
    method: 'GET',
    path: '/audit-log/export',
    summary: 'Every matching audit entry, oldest first, as NDJSON (one entry a line)',
    access: { roles: ADMINS },
    query: AuditExportQuery,
    response: AuditEntry,
    stream: 'application/x-ndjson',
    cacheControl: 'no-store',
  }),
  // ---- documents and browser redirects: the API's description, public keys, metrics, single sign-on ----
  openApiDocument: route({
    method: 'GET',
    path: '/openapi.json',
    summary: 'This OpenAPI document',
    // It describes the API and reveals nothing of any workspace.
    access: { roles: [], anonymous: true },
    rate: 'address',
    query: AnyQuery,
    response: OpenApiDocument,
  }),
  apiDocs: route({
    method: 'GET',
    path: '/api/docs',
    root: true,
    summary: "The API's reference, a page for a browser, made from this OpenAPI document",
    access: { roles: [], anonymous: true },
    rate: 'address',
    query: AnyQuery,
    response: z.string(),
    produces: 'text/html',
    cacheControl: 'public, max-age=300',
  }),
  apiDocsScript: route({
    method: 'GET',
    path: '/api/docs/scalar.js',
    root: true,
    summary: 'The script the reference page runs (the Scalar API reference, served by this server)',
    access: { roles: [], anonymous: true },
    rate: 'address',
    query: AnyQuery,
    response: z.string(),
    produces: 'text/javascript',
    cacheControl: 'public, max-age=300',
  }),
  jwks: route({
    method: 'GET',
    path: '/.well-known/jwks.json',
    summary: 'The public keys run tokens are signed with: current, published ahead of signing, and recently retired',
    access: { roles: [], anonymous: true },
    rate: 'key-set',
    query: AnyQuery,
    response: JsonWebKeySet,
    produces: 'application/jwk-set+json',
    cacheControl: 'public, max-age=300',
  }),
  metrics: route({
    method: 'GET',
    path: '/metrics',
    root: true,
    summary: 'Prometheus metrics of the whole server; only with OUTPOST_METRICS_TOKEN, and only when one is configured',
    access: { roles: [], operator: true },
    query: AnyQuery,
    response: z.string(),
    produces: 'text/plain',
    cacheControl: 'no-store',
  }),
  oidcSignInStart: route({
    method: 'GET',
    path: '/auth/oidc/:workspace/start',
    summary:
      "A browser's start of single sign-on: a redirect to the workspace's identity provider (a browser that cannot start lands on the sign-in page with the reason)",
    access: { roles: [], anonymous: true },
    rate: 'address',
    params: z.strictObject({ workspace: z.string() }),
    query: z.looseObject({ returnTo: QueryText.describe('Where in the dashboard to land once signed in') }),
    response: NoContent,
    status: 302,
    produces: 'redirect',
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  organisationSignInStart: route({
    method: 'GET',
    path: '/auth/oidc/organisations/:org/start',
    summary:
      "A browser's start of the organisation's single sign-on: a redirect to its identity provider (a browser that cannot start lands on the sign-in page with the reason)",
    access: { roles: [], anonymous: true },
    rate: 'address',
    params: z.strictObject({ org: z.string() }),
    query: z.looseObject({
      returnTo: QueryText.describe('Where in the dashboard to land once signed in'),
      workspace: QueryText.describe('The workspace to open, by slug; otherwise the first the person can open'),
    }),
    response: NoContent,
    status: 302,
    produces: 'redirect',
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  oidcSignInCallback: route({
    method: 'GET',
    path: '/auth/oidc/callback',
    summary:
      "The identity provider's redirect back: opens a session (setting its cookies) and lands on the dashboard, or on the sign-in page with the reason",
    access: { roles: [], anonymous: true },
    rate: 'address',
    query: z.looseObject({ code: QueryText, state: QueryText, error: QueryText }),
    response: NoContent,
    status: 302,
    produces: 'redirect',
    cacheControl: 'no-store',
    audit: 'handler',
  }),
  // ---- automations ----
  automationsCreate: route({
    method: 'POST',
    path: '/automations',
    summary: 'Create an automation: a trigger over the event ledger and the actions it fires',
    access: { roles: DEVELOPERS },
    body: AutomationCreateRequest,
    response: Automation,
    status: 201,
  }),
  automationsList: route({
    method: 'GET',
    path: '/automations',
    summary: 'List automations by name',
    access: { roles: READERS },
    query: AutomationListQuery,
    response: AutomationListResponse,
  }),
  automationsGet: route({
    method: 'GET',
    path: '/automations/:id',
    summary: 'Get an automation',
    access: { roles: READERS },
    params: IdParam,
    response: Automation,
  }),
  automationsUpdate: route({
    method: 'PATCH',
    path: '/automations/:id',
    summary: "Change an automation; a new trigger starts without the old one's counts and windows",
    access: { roles: DEVELOPERS },
    params: IdParam,
    body: AutomationUpdateRequest,
    response: Automation,
  }),
  automationsDelete: route({
    method: 'DELETE',
    path: '/automations/:id',
    summary: 'Delete an automation and its firings',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Automation,
  }),
  automationsEnable: route({
    method: 'POST',
    path: '/automations/:id/enable',
    summary: 'Enable an automation',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Automation,
  }),
  automationsDisable: route({
    method: 'POST',
    path: '/automations/:id/disable',
    summary: 'Disable an automation: it sees no events until enabled again',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Automation,
  }),
  automationsFirings: route({
    method: 'GET',
    path: '/automations/:id/firings',
    summary: "An automation's firings, newest first, with each action's outcome",
    access: { roles: READERS },
    params: IdParam,
    query: FiringListQuery,
    response: FiringListResponse,
  }),
  automationsQuarantine: route({
    method: 'GET',
    path: '/automation-quarantine',
    summary:
      'Events the automations loop did not evaluate (an expression over its budget, or a round that kept failing), newest first',
    access: { roles: READERS },
    query: QuarantineListQuery,
    response: QuarantineListResponse,
  }),
  sensorsList: route({
    method: 'GET',
    path: '/sensors',
    summary: "The workspace's sensors with their last tick",
    access: { roles: READERS },
    query: SensorListQuery,
    response: SensorListResponse,
  }),
  sensorsGet: route({
    method: 'GET',
    path: '/sensors/:id',
    summary: 'A sensor: its interval, cursor, next and last tick',
    access: { roles: READERS },
    params: IdParam,
    response: Sensor,
  }),
  sensorsTicks: route({
    method: 'GET',
    path: '/sensors/:id/ticks',
    summary: "A sensor's ticks, newest first: runs requested, skip reasons, errors, cursors",
    access: { roles: READERS },
    params: IdParam,
    query: SensorTickListQuery,
    response: SensorTickListResponse,
  }),
  sensorsPause: route({
    method: 'POST',
    path: '/sensors/:id/pause',
    summary: 'Pause a sensor: no worker evaluates it until resumed',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Sensor,
  }),
  sensorsResume: route({
    method: 'POST',
    path: '/sensors/:id/resume',
    summary: 'Resume a paused sensor; its next tick is due at once',
    access: { roles: DEVELOPERS },
    params: IdParam,
    response: Sensor,
  }),
  sensorsTickNow: route({
    method: 'POST',
    path: '/sensors/:id/tick',
    summary: "Make a sensor's next tick due now",
    access: { roles: RUNNERS },
    params: IdParam,
    response: Sensor,
  }),
  sensorTicksClaim: route({
    method: 'POST',
    path: '/work-pools/:pool/sensor-ticks/claim',
    summary: "Claim due ticks of the pool's sensors, each leased to the worker",
    access: { roles: WORKERS },
    params: PoolParam,
    body: SensorTickClaimRequest,
    response: SensorTickClaimResponse,
  }),
  sensorTicksComplete: route({
    method: 'POST',
    path: '/work-pools/:pool/sensor-ticks/:id/complete',
    summary: "Report a tick's outcome: its runs are created (once per run key) and its cursor stored, in one transaction",
    access: { roles: WORKERS, whileArchived: true },
    params: SensorTickParams,
    body: SensorTickCompleteRequest,
    response: SensorTick,
  }),
  externalPollsClaim: route({
    method: 'POST',
    path: '/work-pools/:pool/external-polls/claim',
    summary: 'Claim due polls (and cancellations) of external jobs that runs of the pool wait on, each leased to the worker',
    access: { roles: WORKERS, whileArchived: true },
    params: PoolParam,
    body: ExternalPollClaimRequest,
    response: ExternalPollClaimResponse,
  }),
  externalPollsComplete: route({
    method: 'POST',
    path: '/work-pools/:pool/external-polls/:id/complete',
    summary: 'Report what a poll of an external job saw: the next poll is scheduled, or the wait resolves and its run resumes',
    access: { roles: WORKERS, whileArchived: true },
    params: ExternalPollParams,
    body: ExternalPollCompleteRequest,
    response: ExternalPollCompleteResponse,
  }),
  // ---- events: the ledger, its live stream, custom events, inbound webhooks ----
  eventsList: route({
    method: 'GET',
    path: '/events',
    summary: "The workspace's events, newest first (or in ledger order after a seq), filtered by kind, resource, source and time",
    access: { roles: READERS },
    query: EventListQuery,
    response: EventListResponse,
  }),
  eventsStream: route({
    method: 'GET',
    path: '/events/stream',
    summary:
      "Server-Sent Events: each event of the caller's workspace as it is committed, after replaying those after `afterSeq`",
    access: { roles: READERS },
    query: EventStreamQuery,
    headers: ['last-event-id'],
    response: OutpostEvent,
    stream: 'text/event-stream',
  }),
  eventsEmit: route({
    method: 'POST',
    path: '/events',
    summary: 'Record custom events (idempotent by id); a run token records them about its run',
    access: { roles: RUNNERS, runToken: true },
    body: EventEmitBatch,
    // 500 events of the largest payload, with room for their kinds and resources.
    maxBodyBytes: 500 * (MAX_EVENT_PAYLOAD_BYTES + 4096),
    response: EventEmitResponse,
    status: 202,
  }),
  eventWebhooksCreate: route({
    method: 'POST',
    path: '/event-webhooks',
    summary: 'Create an inbound webhook; its URL token and signing secret are shown once',
    access: { roles: DEVELOPERS },
    body: EventWebhookCreateRequest,
    response: EventWebhookSecretResponse,
    status: 201,
  }),
  eventWebhooksList: route({
    method: 'GET',
    path: '/event-webhooks',
    summary: "The workspace's inbound webhooks (never their tokens or secrets)",
    access: { roles: READERS },
    response: EventWebhookListResponse,
  }),
  eventWebhooksRotate: route({
    method: 'POST',
    path: '/event-webhooks/:id/rotate',
    summary: 'A new URL token and signing secret for a webhook, shown once; the old ones stop working',
    access: { roles: DEVELOPERS, whileArchived: true },
    params: EventWebhookParams,
    response: EventWebhookSecretResponse,
  }),
  eventWebhooksDelete: route({
    method: 'DELETE',
    path: '/event-webhooks/:id',
    summary: 'Delete an inbound webhook; its URL stops working',
    access: { roles: DEVELOPERS, whileArchived: true },
    params: EventWebhookParams,
    response: NoContent,
    status: 204,
  }),
  eventWebhookReceive: route({
    method: 'POST',
    path: '/hooks/:token',
    summary:
      "An inbound webhook's delivery: the secret URL token and the body's HMAC signature are its authentication; the template's fields become one event",
    access: { roles: [], anonymous: true },
    rate: 'address',
    params: EventWebhookTokenParams,
    headers: ['x-outpost-signature', 'x-hub-signature-256'],
    response: EventWebhookReceiveResponse,
    status: 202,
  }),
} as const satisfies Record<string, RouteDef>;

export type Routes = typeof routes;
export type RouteName = keyof Routes;

/** Where the API's routes live on the server; a `root` route (the metrics scrape) is outside it. */
export const API_PREFIX = '/api/v1';

/** The path a route is served at, with its `:name` parameters still in it: what the server mounts and clients call. */
export function servedPath(route: Pick<RouteDef, 'path' | 'root'>): string {
  return route.root ? route.path : `${API_PREFIX}${route.path}`;
}
