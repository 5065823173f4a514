export * as z from 'zod';
export type {
  AnyAsset,
  Asset,
  AssetCheck,
  AssetContext,
  AssetDep,
  AssetOptions,
  AutomationCondition,
  CheckContext,
  CheckFunction,
  CheckOptions,
  CheckOutcome,
  FileFormat,
  FreshnessPolicy,
  FsIOOptions,
  IOContext,
  IOManager,
  MaterializeOptions,
  MaterializeResult,
  MetadataValue,
  PartitionRange,
  S3IOOptions,
  StoreResult,
} from './assets/index.js';
export {
  AssetCycleError,
  AssetRunError,
  AssetValueMissingError,
  addDynamicPartitions,
  asset,
  check,
  DuplicateAssetKeyError,
  findCycle,
  fsIO,
  jsonFormat,
  materialize,
  onCron,
  onMissing,
  onUpstreamUpdate,
  s3IO,
} from './assets/index.js';
export type { DeploymentConfig, OutpostConfig } from './config.js';
export { defineConfig } from './config.js';
export type { KeyOptions, PartitionInfo, PartitionsDefinition } from './partitions/index.js';
export { partitions } from './partitions/index.js';
export type {
  PipesArtifactRecord,
  PipesCheckResult,
  PipesClientError,
  PipesRunOptions,
  PipesRunResult,
  PipesSession,
  PipesSessionOptions,
  PipesSessionResult,
} from './pipes/index.js';
export { PipesProcessError, pipes } from './pipes/index.js';
// From each runtime module, not `./runtime/index.js`: that one also re-exports the IPC protocol's
// schemas, which a flow bundle builds only once its run starts under a worker.
export type { ArtifactOptions, TableCell } from './runtime/artifacts.js';
export { artifact } from './runtime/artifacts.js';
export type { FlowContext, RunContext, TaskContext } from './runtime/context.js';
export { runContext, taskContext } from './runtime/context.js';
export type {
  DeploymentRun,
  DeploymentRunClient,
  DeploymentRunState,
  DeploymentRunWaitOptions,
  RunDeploymentOptions,
} from './runtime/deployment-run.js';
export { DeploymentRunFailedError, DeploymentRunResultError, DeploymentRunTimeoutError } from './runtime/deployment-run.js';
export type { EmitOptions } from './runtime/emit.js';
export { emit } from './runtime/emit.js';
export type { ParameterIssue } from './runtime/errors.js';
export { FlowCancelledError, FlowTimeoutError, ParameterValidationError, TaskTimeoutError } from './runtime/errors.js';
export type { Flow, FlowInputOf, FlowOptions, FlowResultOf, NoParams, ParamsSchema } from './runtime/flow.js';
export { flow } from './runtime/flow.js';
export type { Logger, LogMethod } from './runtime/logger.js';
export { log } from './runtime/logger.js';
export { isMainModule } from './runtime/main-module.js';
export type { ResultStorage } from './runtime/result-storage.js';
export { directoryResultStorage, registerResultStorage, resultStorageFromUrl } from './runtime/result-storage.js';
export type { RetryOptions } from './runtime/retry.js';
export type { RunDeploymentArgs } from './runtime/run-deployment.js';
export { runDeployment } from './runtime/run-deployment.js';
export type { MapOptions, Task, TaskOptions } from './runtime/task.js';
export { task } from './runtime/task.js';
export type { ApprovalResult, WaitApprovalOptions, WaitForOptions, WaitTokenOptions, WaitUntilOptions } from './runtime/wait.js';
export { WaitCancelledError, WaitTimeoutError, wait } from './runtime/wait.js';
export type {
  Sensor,
  SensorContext,
  SensorFunction,
  SensorOptions,
  SensorReturn,
  SensorRunRequest,
} from './sensors/index.js';
export { sensor } from './sensors/index.js';
