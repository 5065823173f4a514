export type {
  AdoptedAttempt,
  Attempt,
  AttemptExit,
  AttemptSink,
  Executor,
  ExecutorContext,
  MakeExecutor,
  PreparedRun,
  StopRequest,
} from './executors/executor.js';
export { AttemptAlreadyStarted } from './executors/executor.js';
export type { RunOutcome, StopReason } from './executors/final-state.js';
export { createProcessExecutor } from './executors/process.js';
export type { HealthReport } from './health.js';
export { main } from './main.js';
export type { WorkerOptions } from './options.js';
export { OptionsError, parseOptions } from './options.js';
export { Redactor } from './redact.js';
export type { StopOptions, WorkerHandle, WorkerHooks, WorkerState } from './worker.js';
export { startWorker, WorkerStartError } from './worker.js';
