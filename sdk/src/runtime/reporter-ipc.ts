import { randomUUID } from 'node:crypto';
import { StateProposalResponse } from '../contracts/runs.js';
import type { ProposedState } from '../contracts/states.js';
import type { IpcChannel } from './ipc-channel.js';
import type { CreateTaskRunBody, SetTaskRunStateBody } from './protocol.js';
import type { LogRecord, ProposalOutcome, Reporter } from './reporter.js';

/**
 * Reports to the worker over IPC. The flow process holds no credential: the worker adds the attempt
 * and the run token, redacts, numbers and ships.
 */
export class IpcReporter implements Reporter {
  readonly capturesConsole = true;

  constructor(private readonly channel: IpcChannel) {}

  log(record: LogRecord): void {
    this.channel.send({
      t: 'log',
      level: record.level,
      message: record.message,
      timestamp: record.timestamp.toISOString(),
      ...(record.taskRunId ? { taskRunId: record.taskRunId } : {}),
    });
  }

  async proposeState(state: ProposedState): Promise<ProposalOutcome> {
    // A fresh transition id per proposal: re-proposing after WAIT with the same id would only replay the WAIT.
    const result = await this.channel.rpc('setState', { transitionId: randomUUID(), state });
    const parsed = StateProposalResponse.safeParse(result);
    if (!parsed.success) throw new Error(`setState: unexpected reply from the worker: ${parsed.error.message}`);
    const { status, state: judged, reason, waitSeconds } = parsed.data;
    return { status, stateType: judged.type, reason, waitSeconds };
  }

  async createTaskRun(body: CreateTaskRunBody): Promise<void> {
    await this.channel.rpc('createTaskRun', body);
  }

  async setTaskRunState(body: SetTaskRunStateBody): Promise<void> {
    await this.channel.rpc('setTaskRunState', body);
  }
}
