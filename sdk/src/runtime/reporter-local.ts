import { randomUUID } from 'node:crypto';
import type { ArtifactType } from '../contracts/artifacts.js';
import type { AssetEvent, AssetGateResponse, DynamicPartitionKeysResponse } from '../contracts/assets.js';
import type { EventEmitRequest } from '../contracts/event-ledger.js';
import type { ProposedState } from '../contracts/states.js';
import { currentScope } from './context.js';
import type { CreateArtifactBody } from './protocol.js';
import type { LogRecord, ProposalOutcome, Reporter } from './reporter.js';

/** `[flow/task-key] level message`, the shape a person reads in a terminal. */
export function formatLocalLine(record: LogRecord): string {
  const scope = [record.flowName, record.taskKey].filter(Boolean).join('/') || 'outpost';
  return `[${scope}] ${record.level} ${record.message}`;
}

/** One line about an artifact: what a person needs to know it was made, not its whole content. */
export function describeArtifact(type: ArtifactType, key: string, data: unknown): string {
  const d = data as {
    markdown?: string;
    rows?: unknown[];
    columns?: unknown[];
    url?: string;
    text?: string | null;
    progress?: number;
  };
  let detail: string;
  switch (type) {
    case 'markdown': {
      const first = (d.markdown ?? '').split('\n').find((line) => line.trim() !== '') ?? '';
      detail = first.length > 80 ? `${first.slice(0, 79)}…` : first;
      break;
    }
    case 'table':
      detail = `${d.rows?.length ?? 0} row(s) × ${d.columns?.length ?? 0} column(s)`;
      break;
    case 'link':
      detail = d.text ? `${d.text} <${d.url}>` : `${d.url}`;
      break;
    case 'progress':
      detail = `${Math.round((d.progress ?? 0) * 100)}%`;
      break;
  }
  return `artifact ${type} '${key}': ${detail}`;
}

/** One line about an asset event, as a person reads it in a terminal. */
export function describeAssetEvent(event: AssetEvent): string {
  const partition = event.partitionKey ? ` [${event.partitionKey}]` : '';
  switch (event.kind) {
    case 'materialization': {
      const version = event.dataVersion ? ` (data version ${event.dataVersion.slice(0, 12)})` : '';
      return `materialised ${event.assetKey}${partition}${version}`;
    }
    case 'failure':
      return `not materialised: ${event.assetKey}${partition}: ${event.message}`;
    case 'check':
      return `check ${event.assetKey}:${event.checkName}${partition} ${event.passed ? 'passed' : 'FAILED'}${
        event.passed ? '' : ` (${event.blocking ? 'blocking, ' : ''}${event.severity ?? 'ERROR'})`
      }`;
  }
}

/**
 * Runs without a server: logs print to the console (warnings and errors to stderr), every state
 * proposal is accepted, task runs are not recorded anywhere, subflows run inline, artifacts and
 * asset events print one line each, and no asset is blocked or already materialised.
 */
export class LocalReporter implements Reporter {
  readonly capturesConsole = false;
  readonly recordsRuns = false;

  log(record: LogRecord): void {
    const line = formatLocalLine(record);
    if (record.level === 'warning' || record.level === 'error' || record.level === 'critical') console.error(line);
    else console.log(line);
  }

  async proposeState(state: ProposedState): Promise<ProposalOutcome> {
    return { status: 'ACCEPT', stateType: state.type, reason: null, waitSeconds: null };
  }

  taskRunEvent(): void {}

  taskRoom(): null {
    return null;
  }

  async createChildRun(): Promise<null> {
    return null;
  }

  forChildRun(): Reporter {
    return this;
  }

  async createArtifact(body: Omit<CreateArtifactBody, 'flowRunId'>): Promise<void> {
    const { run, task } = currentScope();
    this.log({
      level: 'info',
      message: describeArtifact(body.type, body.key, body.data),
      timestamp: new Date(),
      flowName: run?.flowName,
      taskKey: task?.taskKey,
    });
  }

  async assetGate(): Promise<AssetGateResponse> {
    return { blocked: [], materialized: [] };
  }

  async reportAssetEvents(events: AssetEvent[]): Promise<void> {
    const { run } = currentScope();
    for (const event of events) {
      const level = event.kind === 'failure' || (event.kind === 'check' && !event.passed) ? 'warning' : 'info';
      this.log({ level, message: describeAssetEvent(event), timestamp: new Date(), flowName: run?.flowName });
    }
  }

  async emitEvent(event: EventEmitRequest): Promise<string> {
    const { run } = currentScope();
    const id = event.id ?? randomUUID();
    const payload = event.payload && Object.keys(event.payload).length > 0 ? ` ${JSON.stringify(event.payload)}` : '';
    this.log({ level: 'info', message: `[event] ${event.kind}${payload}`, timestamp: new Date(), flowName: run?.flowName });
    return id;
  }

  /** Run locally, a dynamic set lives in this process: keys added here are the set's keys until it exits. */
  readonly dynamicPartitions = new Map<string, string[]>();

  async addDynamicPartitions(name: string, keys: string[]): Promise<DynamicPartitionKeysResponse> {
    const set = this.dynamicPartitions.get(name) ?? [];
    const fresh = [...new Set(keys)].filter((k) => !set.includes(k));
    set.push(...fresh);
    this.dynamicPartitions.set(name, set);
    const { run } = currentScope();
    this.log({
      level: 'info',
      message: `[partitions] added ${fresh.length} key(s) to ${name} (${set.length} in all)`,
      timestamp: new Date(),
      flowName: run?.flowName,
    });
    return { name, keys: [...set], added: fresh.length };
  }
}

export const localReporter = new LocalReporter();
