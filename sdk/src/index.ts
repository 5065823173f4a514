export * as z from 'zod';
export type { DeploymentConfig, OutpostConfig } from './config.js';
export { defineConfig } from './config.js';
export type { KeyOptions, PartitionInfo, PartitionsDefinition } from './partitions/index.js';
export { partitions } from './partitions/index.js';
export type {
  ArtifactOptions,
  Flow,
  FlowContext,
  FlowOptions,
  Logger,
  LogMethod,
  MapOptions,
  NoParams,
  ParameterIssue,
  ParamsSchema,
  ResultStorage,
  RunContext,
  TableCell,
  Task,
  TaskContext,
  TaskOptions,
} from './runtime/index.js';
export {
  artifact,
  directoryResultStorage,
  FlowCancelledError,
  FlowTimeoutError,
  flow,
  isMainModule,
  log,
  ParameterValidationError,
  registerResultStorage,
  resultStorageFromUrl,
  runContext,
  TaskTimeoutError,
  task,
  taskContext,
} from './runtime/index.js';
