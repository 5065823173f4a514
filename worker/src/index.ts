export type { RunOutcome, StopReason } from './executors/final-state.js';
export { main } from './main.js';
export type { WorkerOptions } from './options.js';
export { OptionsError, parseOptions } from './options.js';
export { Redactor } from './redact.js';
export type { StopOptions, WorkerHandle, WorkerHooks, WorkerState } from './worker.js';
export { startWorker, WorkerStartError } from './worker.js';
