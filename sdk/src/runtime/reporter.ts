import type { LogLevel } from '../contracts/logs.js';
import type { ProposalStatus, ProposedState, StateType } from '../contracts/states.js';
import type { CreateTaskRunBody, SetTaskRunStateBody } from './protocol.js';

/** One line from `log.*` or a captured `console.*` call, with the run and task it belongs to. */
export interface LogRecord {
  level: LogLevel;
  message: string;
  timestamp: Date;
  flowName?: string | undefined;
  taskKey?: string | undefined;
  taskRunId?: string | undefined;
}

/** The answer to a flow-run state proposal, reduced to what the engine acts on. */
export interface ProposalOutcome {
  status: ProposalStatus;
  /** The run's state type after the proposal was judged. */
  stateType: StateType;
  reason: string | null;
  /** With WAIT: seconds to wait before proposing again. */
  waitSeconds: number | null;
}

/**
 * Where the engine sends everything it has to say about a run. Under the worker that is the IPC
 * channel; run locally it is the console. The flow and task engine talk only to this interface.
 */
export interface Reporter {
  /** True when `console.*` should be routed through `log` while a flow runs (the worker reads stdout otherwise). */
  readonly capturesConsole: boolean;
  log(record: LogRecord): void;
  proposeState(state: ProposedState): Promise<ProposalOutcome>;
  createTaskRun(body: CreateTaskRunBody): Promise<void>;
  setTaskRunState(body: SetTaskRunStateBody): Promise<void>;
}
