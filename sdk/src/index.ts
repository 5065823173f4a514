export { z } from 'zod';
export type { DeploymentConfig, OutpostConfig } from './config.js';
export { defineConfig } from './config.js';
export type {
  Flow,
  FlowContext,
  FlowOptions,
  Logger,
  LogMethod,
  NoParams,
  ParameterIssue,
  ParamsSchema,
  Task,
  TaskContext,
  TaskOptions,
} from './runtime/index.js';
export {
  FlowCancelledError,
  FlowTimeoutError,
  flow,
  isMainModule,
  log,
  ParameterValidationError,
  TaskTimeoutError,
  task,
  taskContext,
} from './runtime/index.js';
