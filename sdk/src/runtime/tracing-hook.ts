import type { StateType } from '../contracts/states.js';
import type { Reporter } from './reporter.js';

/**
 * The run's tracing as the flow's own copy of the runtime sees it. The runner (the worker's SDK,
 * where OpenTelemetry is installed) sets it up and leaves it here, so a flow bundle carries no
 * OpenTelemetry code of its own.
 */
export interface RunTracingHook {
  /** Follows the task runs `reporter` reports, leaving what it sends unchanged. */
  observe(reporter: Reporter): void;
  /** Ends the run's spans with its state (null: unknown) and exports them, within a bound. Only the first call counts. */
  finish(state: StateType | null): Promise<void>;
}

const KEY = Symbol.for('outpost.run-tracing');

export function runTracingHook(): RunTracingHook | null {
  return ((globalThis as Record<symbol, unknown>)[KEY] as RunTracingHook | undefined) ?? null;
}

export function setRunTracingHook(hook: RunTracingHook): void {
  (globalThis as Record<symbol, unknown>)[KEY] = hook;
}
