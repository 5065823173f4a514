import { z } from 'zod';
import { Id, Name } from './common.js';
import { FlowRunEvent } from './events.js';
import {
  Deployment,
  DeploymentListQuery,
  DeploymentListResponse,
  DeploymentUpsertRequest,
  DeploymentUpsertResponse,
  Flow,
  FlowListResponse,
} from './flows.js';
import { LogBatchRequest, LogBatchResponse, LogReadQuery, LogReadResponse } from './logs.js';
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
  ClaimResponse,
  FlowRun,
  FlowRunCreateRequest,
  FlowRunCreateResponse,
  FlowRunListQuery,
  FlowRunListResponse,
  StateHistoryResponse,
  StateProposalRequest,
  StateProposalResponse,
} from './runs.js';
import { AuthSessionCreateRequest, AuthSessionCreateResponse, AuthSessionDeleteResponse } from './sessions.js';
import { StatsOverviewQuery, StatsOverviewResponse } from './stats.js';
import { TaskRunCreateRequest, TaskRunListResponse, TaskRunResponse, TaskRunSetStateRequest } from './task-runs.js';
import {
  ApiKey,
  ApiKeyCreateRequest,
  ApiKeyCreateResponse,
  ApiKeyListResponse,
  type Role,
  WhoAmIResponse,
} from './workspaces.js';

/**
 * Who may call a route: API keys with one of `roles`, and — where `runToken` is set — a run token,
 * which may only act on the run named by the path's `id` (or `runId`).
 */
export interface RouteAccess {
  roles: readonly Role[];
  runToken?: boolean;
  /** Reachable without any credential (signing in and out); `roles` is then empty. */
  anonymous?: boolean;
}

export interface RouteDef {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** Hono-style path under /api/v1, e.g. `/flow-runs/:id`. */
  path: string;
  summary: string;
  access: RouteAccess;
  params?: z.ZodObject;
  query?: z.ZodType;
  body?: z.ZodType;
  response: z.ZodType;
  /** HTTP status of a success; 200 unless set. */
  status?: 200 | 201 | 202 | 204;
  /** Request headers the route reads (documented in OpenAPI). */
  headers?: readonly string[];
  /** The response is this stream of events, each one's data matching `response`, instead of one JSON body. */
  stream?: 'text/event-stream';
}

const READERS = ['owner', 'admin', 'developer', 'runner', 'viewer'] as const;
const RUNNERS = ['owner', 'admin', 'developer', 'runner'] as const;
const DEVELOPERS = ['owner', 'admin', 'developer'] as const;
const ADMINS = ['owner', 'admin'] as const;
const WORKERS = ['owner', 'admin', 'worker'] as const;

const IdParam = z.strictObject({ id: Id });
const PoolParam = z.strictObject({ pool: Name });
const PoolQueueParam = z.strictObject({ pool: Name, queue: Name });
const DeploymentNameParam = z.strictObject({ flow: Name, name: Name });
export const NoContent = z.null();

function route<const T extends RouteDef>(def: T): T {
  return def;
}

/** Every API route. The server mounts these, the client calls them, the OpenAPI document is made from them. */
export const routes = {
  whoami: route({
    method: 'GET',
    path: '/whoami',
    summary: 'The caller and its workspace',
    access: { roles: ['owner', 'admin', 'developer', 'runner', 'viewer', 'worker'], runToken: false },
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
    access: { roles: ADMINS },
    params: IdParam,
    response: ApiKey,
  }),
  flowsList: route({
    method: 'GET',
    path: '/flows',
    summary: 'List flows',
    access: { roles: READERS },
    query: z.strictObject({
      limit: z.coerce.number().int().min(1).max(200).default(50),
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
    access: { roles: READERS },
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
  workersHeartbeat: route({
    method: 'POST',
    path: '/work-pools/:pool/workers/heartbeat',
    summary: 'Register a worker, renew the leases it holds, and learn which runs to stop',
    access: { roles: WORKERS },
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
  }),
  flowRunsStates: route({
    method: 'GET',
    path: '/flow-runs/:id/states',
    summary: "A run's state history, oldest first",
    access: { roles: READERS, runToken: true },
    params: IdParam,
    response: StateHistoryResponse,
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
    summary: "A run's task runs",
    access: { roles: READERS, runToken: true },
    params: IdParam,
    response: TaskRunListResponse,
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
    access: { roles: ['worker'], runToken: true },
    params: IdParam,
    body: LogBatchRequest,
    response: LogBatchResponse,
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
  // ---- dashboard: browser sessions, live run events, statistics ----
  authSessionCreate: route({
    method: 'POST',
    path: '/auth/session',
    summary: 'Sign in with a one-time sign-in token or an API key; sets the session and CSRF cookies',
    access: { roles: [], anonymous: true },
    body: AuthSessionCreateRequest,
    response: AuthSessionCreateResponse,
  }),
  authSessionDelete: route({
    method: 'DELETE',
    path: '/auth/session',
    summary: 'Sign out: revoke the session and clear its cookies',
    access: { roles: [], anonymous: true },
    response: AuthSessionDeleteResponse,
    status: 204,
    headers: ['x-outpost-csrf'],
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
} as const satisfies Record<string, RouteDef>;

export type Routes = typeof routes;
export type RouteName = keyof Routes;
