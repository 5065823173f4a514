export type { ArtifactOptions, TableCell } from './artifacts.js';
export { artifact } from './artifacts.js';
export { canonicalJson, NotCacheableError } from './cache.js';
export type { FlowContext, RunContext, RunInfo, TaskContext } from './context.js';
export { runContext, taskContext } from './context.js';
export type {
  DeploymentRun,
  DeploymentRunClient,
  DeploymentRunState,
  DeploymentRunWaitOptions,
  RunDeploymentOptions,
} from './deployment-run.js';
export { DeploymentRunFailedError, DeploymentRunResultError, DeploymentRunTimeoutError } from './deployment-run.js';
export type { StartedDeploymentRun, WaitPort } from './durable.js';
export { recordedResultKey } from './durable.js';
export type { EmitOptions } from './emit.js';
export { emit } from './emit.js';
export type { FlowOutcome } from './engine.js';
export type { ParameterIssue } from './errors.js';
export { FlowCancelledError, FlowTimeoutError, ParameterValidationError, TaskTimeoutError } from './errors.js';
export type { Flow, FlowInputOf, FlowOptions, FlowResultOf, NoParams, ParamsSchema } from './flow.js';
export { flow } from './flow.js';
export { flowResultKey, resultRefOf } from './flow-result.js';
export type { IpcPort } from './ipc-channel.js';
export { RpcFailedError } from './ipc-channel.js';
export type { Logger, LogMethod } from './logger.js';
export { log } from './logger.js';
export { isMainModule } from './main-module.js';
export type { RpcBody, RpcMethod } from './protocol.js';
export {
  AssetGateBody,
  CancelMessage,
  CreateArtifactBody,
  CreateChildRunBody,
  CreateDeploymentRunBody,
  CreateWaitBody,
  DoneMessage,
  GetWaitBody,
  LogMessage,
  PreloadedMessage,
  PreloadMessage,
  ReadyMessage,
  ReplayBody,
  ReplyMessage,
  ReportAssetEventsBody,
  RPC_PENDING_INTERVAL_MS,
  RpcError,
  RpcPendingMessage,
  RpcRequest,
  RunDescriptor,
  RunnerToWorkerMessage,
  SetStateBody,
  StartMessage,
  SuspendBody,
  TASK_EVENT_WINDOW,
  TaskAckMessage,
  TaskEventMessage,
  WorkerToRunnerMessage,
} from './protocol.js';
export type { RegisteredFlow } from './registry.js';
export { FLOW_REGISTRY_KEY, flowRegistry } from './registry.js';
export type { DirectoryResultStorageOptions, ResultStorage, ResultStorageFactory } from './result-storage.js';
export {
  directoryResultStorage,
  registerResultStorage,
  resultStorageFromEnv,
  resultStorageFromUrl,
  resultStorageUrl,
} from './result-storage.js';
export type { RetryPolicy } from './retry.js';
export { retryDelayMs } from './retry.js';
export type { RunDeploymentArgs } from './run-deployment.js';
export { runDeployment } from './run-deployment.js';
export type { S3ClientOptions, S3CredentialSource, S3Credentials, S3Location, S3Object } from './s3-client.js';
export {
  checkS3Bucket,
  checkS3Endpoint,
  S3Client,
  S3Error,
  s3Credentials,
  s3CredentialsFromEnv,
  s3RegionFromEnv,
} from './s3-client.js';
export type { MapItem, MapOptions, Task, TaskOptions } from './task.js';
export { DEFAULT_MAP_CONCURRENCY, task } from './task.js';
export type { ApprovalResult, WaitApprovalOptions, WaitForOptions, WaitTokenOptions, WaitUntilOptions } from './wait.js';
export { DEFAULT_WAIT_HOLD_SECONDS, WaitCancelledError, WaitTimeoutError, wait } from './wait.js';
