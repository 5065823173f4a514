import type { ProposedState } from '../contracts/states.js';
import type { LogRecord, ProposalOutcome, Reporter } from './reporter.js';

/** `[flow/task-key] level message`, the shape a person reads in a terminal. */
export function formatLocalLine(record: LogRecord): string {
  const scope = [record.flowName, record.taskKey].filter(Boolean).join('/') || 'outpost';
  return `[${scope}] ${record.level} ${record.message}`;
}

/**
 * Runs without a server: logs print to the console (warnings and errors to stderr), every state
 * proposal is accepted, and task runs are not recorded anywhere.
 */
export class LocalReporter implements Reporter {
  readonly capturesConsole = false;

  log(record: LogRecord): void {
    const line = formatLocalLine(record);
    if (record.level === 'warning' || record.level === 'error' || record.level === 'critical') console.error(line);
    else console.log(line);
  }

  async proposeState(state: ProposedState): Promise<ProposalOutcome> {
    return { status: 'ACCEPT', stateType: state.type, reason: null, waitSeconds: null };
  }

  async createTaskRun(): Promise<void> {}

  async setTaskRunState(): Promise<void> {}
}

export const localReporter = new LocalReporter();
