import { randomUUID } from 'node:crypto';
import * as z from 'zod';
import type { AssetEvent, AssetGateResponse, DynamicPartitionKeysResponse } from '../contracts/assets.js';
import { Id } from '../contracts/common.js';
import type { EventEmitRequest } from '../contracts/event-ledger.js';
import type { ProposedState } from '../contracts/states.js';
import { StateProposalResponse } from '../contracts/states.js';
import type { TaskRunEvent } from '../contracts/task-runs.js';
import type { RunInfo } from './context.js';
import type { WaitPort } from './durable.js';
import { readFlowResult, writeFlowResult } from './flow-result.js';
import type { IpcChannel } from './ipc-channel.js';
import { lazy } from './lazy.js';
import type { CreateArtifactBody, CreateChildRunBody } from './protocol.js';
import type { LogRecord, ProposalOutcome, Reporter } from './reporter.js';
import { resultStorageFromEnv } from './result-storage.js';

/*
 * The answers of assets, events and waits are checked with schemas built when a flow first uses
 * one of them: a run's start and end need only the state proposal's.
 */
const assets = lazy(() => import('../contracts/assets.js'));
const eventLedger = lazy(() => import('../contracts/event-ledger.js'));
const waits = lazy(() => import('../contracts/waits.js'));

/** The parts of a started deployment run the runtime needs. */
const StartedRun = z.object({ flowRun: z.object({ id: Id, name: z.string() }), created: z.boolean() });

/** The parts of the created `FlowRun` the runtime needs. */
const CreatedChildRun = z.object({
  flowRun: z.object({ id: Id, name: z.string(), attempt: z.number().int().min(1), flowName: z.string() }),
});

/**
 * Reports to the worker over IPC. The flow process holds no credential: the worker adds the attempt
 * and the run token, redacts, numbers and ships. A reporter made by `forChildRun` speaks for a
 * subflow run: every message it sends names that run.
 */
export class IpcReporter implements Reporter {
  readonly capturesConsole = true;
  readonly recordsRuns = true;

  /** The worker's own run keeps durable waits; a subflow run's reporter has none. */
  readonly waits: WaitPort | undefined;
  /** Only the worker's own run stores its result: a subflow's value goes back to its caller in the same process. */
  readonly persistResult: ((runId: string, value: unknown) => Promise<string>) | undefined;

  constructor(
    private readonly channel: IpcChannel,
    private readonly flowRunId?: string,
  ) {
    this.waits = flowRunId ? undefined : this.waitPort();
    this.persistResult = flowRunId ? undefined : (runId, value) => writeFlowResult(resultStorageFromEnv(), runId, value);
  }

  private waitPort(): WaitPort {
    const call = async <T>(
      method: 'createWait' | 'getWait' | 'suspend' | 'replay' | 'createDeploymentRun',
      body: object,
      schema: z.ZodType<T>,
    ) => {
      const result = await this.channel.rpc(method, body as never);
      const parsed = schema.safeParse(result);
      if (!parsed.success) throw new Error(`${method}: unexpected reply from the worker: ${parsed.error.message}`);
      return parsed.data;
    };
    return {
      create: async (body) => (await call('createWait', body, (await waits()).WaitResponse)).wait,
      get: async (waitId, holdSeconds) => (await call('getWait', { waitId, holdSeconds }, (await waits()).WaitResponse)).wait,
      suspend: async (body) => call('suspend', body, (await waits()).SuspendResponse),
      replay: async () => (await call('replay', {}, (await waits()).ReplayResponse)).results,
      startDeploymentRun: async (body) => {
        const { flowRun, created } = await call('createDeploymentRun', body, StartedRun);
        return { id: flowRun.id, name: flowRun.name, created };
      },
      // Results never pass through the worker: the flow process reads the storage it was given.
      readRunResult: (runId) => readFlowResult(resultStorageFromEnv(), runId),
    };
  }

  private get target(): { flowRunId?: string } {
    return this.flowRunId ? { flowRunId: this.flowRunId } : {};
  }

  log(record: LogRecord): void {
    this.channel.send({
      t: 'log',
      level: record.level,
      message: record.message,
      timestamp: record.timestamp.toISOString(),
      ...(record.taskRunId ? { taskRunId: record.taskRunId } : {}),
      ...this.target,
    });
  }

  async proposeState(state: ProposedState): Promise<ProposalOutcome> {
    // A fresh transition id per proposal: re-proposing after WAIT with the same id would only replay the WAIT.
    const result = await this.channel.rpc('setState', { transitionId: randomUUID(), state, ...this.target });
    const parsed = StateProposalResponse.safeParse(result);
    if (!parsed.success) throw new Error(`setState: unexpected reply from the worker: ${parsed.error.message}`);
    const { status, state: judged, reason, waitSeconds } = parsed.data;
    return { status, stateType: judged.type, reason, waitSeconds };
  }

  taskRunEvent(event: TaskRunEvent): void {
    this.channel.sendTaskEvent({ t: 'task', event, ...this.target });
  }

  taskRoom(): Promise<void> | null {
    return this.channel.taskRoom();
  }

  async createChildRun(body: Omit<CreateChildRunBody, 'parentFlowRunId'>): Promise<RunInfo> {
    const parent = this.flowRunId ? { parentFlowRunId: this.flowRunId } : {};
    const result = await this.channel.rpc('createChildRun', { ...body, ...parent });
    const parsed = CreatedChildRun.safeParse(result);
    if (!parsed.success) throw new Error(`createChildRun: unexpected reply from the worker: ${parsed.error.message}`);
    const { id, name, attempt, flowName } = parsed.data.flowRun;
    return { id, name, attempt, flowName, deploymentId: null };
  }

  forChildRun(flowRunId: string): Reporter {
    return new IpcReporter(this.channel, flowRunId);
  }

  async createArtifact(body: Omit<CreateArtifactBody, 'flowRunId'>): Promise<void> {
    await this.channel.rpc('createArtifact', { ...body, ...this.target });
  }

  async assetGate(): Promise<AssetGateResponse> {
    const result = await this.channel.rpc('assetGate', { ...this.target });
    const parsed = (await assets()).AssetGateResponse.safeParse(result);
    if (!parsed.success) throw new Error(`assetGate: unexpected reply from the worker: ${parsed.error.message}`);
    return parsed.data;
  }

  async reportAssetEvents(events: AssetEvent[]): Promise<void> {
    // Checked here, so a malformed event fails in the flow process with its field path.
    const checked = z.array((await assets()).AssetEvent).parse(events);
    await this.channel.rpc('reportAssetEvents', { events: checked, ...this.target });
  }

  async addDynamicPartitions(name: string, keys: string[]): Promise<DynamicPartitionKeysResponse> {
    const result = await this.channel.rpc('addDynamicPartitions', { name, keys, ...this.target });
    const parsed = (await assets()).DynamicPartitionKeysResponse.safeParse(result);
    if (!parsed.success) throw new Error(`addDynamicPartitions: unexpected reply from the worker: ${parsed.error.message}`);
    return parsed.data;
  }

  async emitEvent(event: EventEmitRequest): Promise<string> {
    const result = await this.channel.rpc('emitEvent', { event, ...this.target });
    const parsed = (await eventLedger()).EventEmitResponse.safeParse(result);
    const id = parsed.success ? parsed.data.ids[0] : undefined;
    if (!id) throw new Error(`emitEvent: unexpected reply from the worker: ${parsed.error?.message ?? 'no id'}`);
    return id;
  }
}
