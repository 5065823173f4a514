import { format } from 'node:util';
import { LOG_LEVELS } from '../contracts/limits.js';
import type { LogLevel } from '../contracts/logs.js';
import { currentScope } from './context.js';
import type { Reporter } from './reporter.js';
import { localReporter } from './reporter-local.js';

const SEVERITY: Record<LogLevel, number> = { debug: 10, info: 20, warning: 30, error: 40, critical: 50 };

/**
 * Lines below this level are dropped, locally and under the worker. Read once, when the runtime
 * loads; an unknown value keeps the default rather than failing the import of a flow module.
 */
const configured = process.env.OUTPOST_LOG_LEVEL?.toLowerCase();
const threshold: LogLevel = LOG_LEVELS.find((level) => level === configured) ?? 'info';

function emit(level: LogLevel, message: string, fallback: Reporter): void {
  if (SEVERITY[level] < SEVERITY[threshold]) return;
  const { run, task } = currentScope();
  (run?.reporter ?? fallback).log({
    level,
    message,
    timestamp: new Date(),
    flowName: run?.flowName,
    taskKey: task?.taskKey,
    taskRunId: task?.taskRunId,
  });
}

export type LogMethod = (message: unknown, ...args: unknown[]) => void;

/** The flow logger: arguments are formatted like `console.log` (`%s`, `%d`, `%o`…). */
export interface Logger {
  debug: LogMethod;
  info: LogMethod;
  warning: LogMethod;
  error: LogMethod;
  critical: LogMethod;
}

function method(level: LogLevel): LogMethod {
  return (message, ...args) => emit(level, format(message, ...args), localReporter);
}

/**
 * Logs attributed to the current flow run and task run. Under the worker they are shipped to the
 * control plane; locally they print as `[flow/task-key] level message`. The level threshold is
 * `OUTPOST_LOG_LEVEL`.
 * @default threshold "info"
 */
export const log: Logger = {
  debug: method('debug'),
  info: method('info'),
  warning: method('warning'),
  error: method('error'),
  critical: method('critical'),
};

const CAPTURED = { log: 'info', info: 'info', warn: 'warning', error: 'error', debug: 'debug' } as const;
type CapturedMethod = keyof typeof CAPTURED;

/**
 * Route `console.log/info/warn/error/debug` through `reporter` as log lines carrying the current
 * task's id. Returns the function that puts the original methods back.
 */
export function captureConsole(reporter: Reporter): () => void {
  const originals = new Map<CapturedMethod, (...args: unknown[]) => void>();
  for (const [name, level] of Object.entries(CAPTURED) as [CapturedMethod, LogLevel][]) {
    originals.set(name, console[name]);
    console[name] = (...args: unknown[]) => emit(level, format(...args), reporter);
  }
  return () => {
    for (const [name, original] of originals) console[name] = original;
  };
}
