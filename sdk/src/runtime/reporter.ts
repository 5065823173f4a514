import type { AssetEvent, AssetGateResponse, DynamicPartitionKeysResponse } from '../contracts/assets.js';
import type { EventEmitRequest } from '../contracts/event-ledger.js';
import type { LogLevel } from '../contracts/logs.js';
import type { ProposalStatus, ProposedState, StateType } from '../contracts/states.js';
import type { TaskRunEvent } from '../contracts/task-runs.js';
import type { RunInfo } from './context.js';
import type { WaitPort } from './durable.js';
import type { CreateArtifactBody, CreateChildRunBody } from './protocol.js';

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
  /** False when task runs, states and artifacts go nowhere (run locally): the engine can skip building them. */
  readonly recordsRuns: boolean;
  log(record: LogRecord): void;
  proposeState(state: ProposedState): Promise<ProposalOutcome>;
  /** A task run's creation or state change; sent on, never waited for (see TaskEventMessage). */
  taskRunEvent(event: TaskRunEvent): void;
  /**
   * Null when a new task run may start reporting now; otherwise a promise to await first (the worker
   * is behind by a full window of task-run events). Reporters without a window return null.
   */
  taskRoom(): Promise<void> | null;
  /**
   * Record a subflow run of the run this reporter speaks for, and return it; null when this
   * reporter records no runs (run locally), in which case the subflow simply runs inline.
   */
  createChildRun(body: Omit<CreateChildRunBody, 'parentFlowRunId'>): Promise<RunInfo | null>;
  /** The reporter for a subflow run created by `createChildRun`. */
  forChildRun(flowRunId: string): Reporter;
  createArtifact(body: Omit<CreateArtifactBody, 'flowRunId'>): Promise<void>;
  /**
   * Which assets of the run must not be materialised (a failed blocking check upstream) and which an
   * earlier attempt of the run already materialised. Run locally: nothing is blocked or done.
   */
  assetGate(): Promise<AssetGateResponse>;
  /** Record materialisations, failures and check results of the run's assets (at most 1,000 at once). */
  reportAssetEvents(events: AssetEvent[]): Promise<void>;
  /** Add keys to a dynamic partition set; answers the set's keys and how many were new. */
  addDynamicPartitions(name: string, keys: string[]): Promise<DynamicPartitionKeysResponse>;
  /** Where the run's durable waits are kept; absent run locally and for a subflow run's reporter. */
  readonly waits?: WaitPort | undefined;
  /** Record a custom event (`emit()`); answers its id. Run locally, the event is printed. */
  emitEvent(event: EventEmitRequest): Promise<string>;
  /**
   * Store the completed run's return value where `runDeployment(...).result()` reads it, answering
   * its reference; absent where results are kept nowhere (run locally, a subflow run).
   */
  readonly persistResult?: ((runId: string, value: unknown) => Promise<string>) | undefined;
}
