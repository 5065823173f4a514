import type { ClaimedRun } from '@outpost/sdk/contracts';
import type { RpcError, StartMessage, WorkerToRunnerMessage } from '@outpost/sdk/runtime';
import { PreloadedMessage, RpcRequest, RunnerToWorkerMessage } from '@outpost/sdk/runtime';

/*
 * The runtime protocol (docs/runtime-protocol.md) is defined once, by the SDK runtime. Customer code
 * can call `process.send` itself, so the worker parses every message from a flow process against
 * those schemas before acting on it; anything else is ignored with a warning.
 */

export { PreloadedMessage, RpcRequest, RunnerToWorkerMessage as ChildMessage };
export type RpcRequestMessage = RpcRequest;
export type RpcErrorBody = RpcError;
/** Worker → flow process. */
export type ParentMessage = WorkerToRunnerMessage;

/** An rpc id from a message that failed validation, so the child still gets an answer instead of waiting. */
export function rpcIdOf(message: unknown): number | null {
  if (message && typeof message === 'object' && (message as { t?: unknown }).t === 'rpc') {
    const id = (message as { id?: unknown }).id;
    if (typeof id === 'number' && Number.isInteger(id)) return id;
  }
  return null;
}

/** The runner's `ready`: Node is up, the runner listens and waits for `start`. */
export function isReadyMessage(message: unknown): boolean {
  if ((message as { t?: unknown } | null)?.t !== 'ready') return false;
  const parsed = RunnerToWorkerMessage.safeParse(message);
  return parsed.success && parsed.data.t === 'ready';
}

/** The `start` message of a claimed run, without the variables and directory only a pre-started process needs. */
export function startMessageOf(claimed: ClaimedRun, entry: string): StartMessage {
  const { deployment, flowRun } = claimed;
  return {
    t: 'start',
    run: {
      id: flowRun.id,
      attempt: flowRun.attempt,
      name: flowRun.name,
      flowName: deployment.flowName,
      deploymentId: flowRun.deploymentId ?? deployment.id,
      parameters: flowRun.parameters,
      deploymentName: deployment.name,
      scheduledTime: flowRun.scheduledTime ?? null,
      scheduleId: flowRun.scheduleId ?? null,
      tags: flowRun.tags,
      partitionKey: flowRun.partitionKey ?? null,
    },
    entry,
  };
}
