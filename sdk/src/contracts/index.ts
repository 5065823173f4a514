export {
  ARTIFACT_MAX_DATA_BYTES,
  Artifact,
  ArtifactCreateRequest,
  ArtifactDataByType,
  ArtifactFields,
  ArtifactKey,
  ArtifactLatestQuery,
  ArtifactListResponse,
  ArtifactResponse,
  ArtifactType,
  checkArtifactData,
} from './artifacts.js';
export { AuditActorKind, AuditEntry, AuditExportQuery, AuditLogQuery, AuditLogResponse } from './audit.js';
export { FlowRunChildCreateRequest, FlowRunChildListResponse } from './child-runs.js';
export {
  BatchItemError,
  ErrorCode,
  Id,
  JsonObject,
  JsonValue,
  MAX_BATCH_RUNS,
  Name,
  PageQuery,
  Problem,
  page,
  statusForCode,
  Tag,
  Tags,
  Timestamp,
} from './common.js';
export {
  CollisionStrategy,
  ConcurrencyLimit,
  ConcurrencyLimitCreateRequest,
  ConcurrencyLimitListResponse,
  ConcurrencyLimitUpdateRequest,
  FlowRunActionRequest,
} from './concurrency.js';
export { FlowRunEvent } from './events.js';
export {
  Deployment,
  DeploymentListQuery,
  DeploymentListResponse,
  DeploymentUpsertRequest,
  DeploymentUpsertResponse,
  Flow,
  FlowListResponse,
  Source,
} from './flows.js';
export {
  LogBatchManyRequest,
  LogBatchManyResponse,
  LogBatchRequest,
  LogBatchResponse,
  LogLevel,
  LogLine,
  LogLineInput,
  LogReadQuery,
  LogReadResponse,
  MAX_BATCH_LINES,
} from './logs.js';
export {
  ClaimRequest,
  HeldRun,
  Labels,
  Worker,
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
export type { RouteAccess, RouteDef, RouteName, Routes } from './routes.js';
export { NoContent, routes } from './routes.js';
export {
  ClaimedRun,
  ClaimResponse,
  FlowRun,
  FlowRunCreateRequest,
  FlowRunCreateResponse,
  FlowRunListQuery,
  FlowRunListResponse,
  RunWaitingFor,
  StateHistoryEntry,
  StateHistoryResponse,
  StateProposalBatchRequest,
  StateProposalBatchResponse,
  StateProposalRequest,
  StateProposalResponse,
} from './runs.js';
export {
  Backfill,
  BackfillCreateRequest,
  BackfillListQuery,
  BackfillListResponse,
  BackfillStatus,
  CatchupPolicy,
  MAX_BACKFILL_RUNS,
  MAX_SCHEDULES_PER_DEPLOYMENT,
  Schedule,
  ScheduleInput,
  ScheduleInputs,
  ScheduleListResponse,
  ScheduleUpdateRequest,
} from './schedules.js';
export {
  AuthSessionCreateRequest,
  AuthSessionCreateResponse,
  AuthSessionDeleteResponse,
  CSRF_COOKIE,
  CSRF_HEADER,
  SESSION_COOKIE,
} from './sessions.js';
export {
  CONFIGURATION_ERROR,
  DEFAULT_STATE_NAME,
  isTerminal,
  ProposalStatus,
  ProposedState,
  State,
  StateName,
  StateType,
  TERMINAL_STATES,
} from './states.js';
export { StateCounts, StatsOverviewQuery, StatsOverviewResponse, StatsWindow } from './stats.js';
export {
  TaskRun,
  TaskRunCreateRequest,
  TaskRunListResponse,
  TaskRunResponse,
  TaskRunSetStateRequest,
} from './task-runs.js';
export {
  Member,
  MemberAddRequest,
  MemberAddResponse,
  MemberListResponse,
  MemberParams,
  MemberRole,
  MemberUpdateRequest,
  OidcConfig,
  OidcConfigRequest,
  PasswordChangeRequest,
  PasswordSetupRequest,
  PasswordSignInRequest,
  SetupTokenResponse,
  SsoDefaultRole,
} from './users.js';
export {
  ApiKey,
  ApiKeyCreateRequest,
  ApiKeyCreateResponse,
  ApiKeyListResponse,
  Role,
  WhoAmIResponse,
  Workspace,
} from './workspaces.js';
