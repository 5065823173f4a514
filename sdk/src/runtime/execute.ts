import type { FlowDefinition } from './engine.js';
import { runFlowRun } from './engine.js';
import { FlowCancelledError } from './errors.js';
import { IpcChannel, type IpcPort } from './ipc-channel.js';
import { runTracingHook } from './tracing-hook.js';
import type { StartMessage } from './worker-messages.js';

/**
 * Loads and builds ahead of a run what `executeRun` loads when a run starts: the worker's messages
 * and the IPC reporter with the schemas they check with, each check run once on a message of the kind
 * every run exchanges (zod compiles a schema's check on its first use). A warm flow process calls this
 * (`RegisteredFlow.prepare`) after importing its bundle, so that work is off the run's start.
 */
export async function prepareRun(): Promise<void> {
  const [messages, states] = await Promise.all([
    import('./worker-messages.js'),
    import('../contracts/states.js'),
    import('./reporter-ipc.js'),
  ]);
  const id = '00000000-0000-4000-8000-000000000000';
  const timestamp = new Date(0).toISOString();
  messages.StartMessage.safeParse({
    t: 'start',
    run: { id, attempt: 1, name: 'prepare', flowName: 'prepare', deploymentId: id, parameters: {} },
    entry: '/prepare',
  });
  messages.ReplyMessage.safeParse({ t: 'reply', id: 1, ok: true, result: null });
  states.StateProposalResponse.safeParse({
    status: 'ACCEPT',
    state: { type: 'RUNNING', name: 'Running', message: null, timestamp, data: null },
    attempt: 1,
    reason: null,
    waitSeconds: null,
  });
}

/**
 * Run `def` as the worker's run: everything is reported over the IPC channel, `cancel` messages
 * abort the flow's signal, and `done` is written before this resolves, so the caller may exit.
 * Throws only on an internal failure (the worker unreachable, a malformed start message); the
 * worker then proposes CRASHED.
 */
export async function executeRun(def: FlowDefinition, start: StartMessage, port: IpcPort = process): Promise<void> {
  // Listening from the first moment, so a cancel the worker sends while the rest loads is not lost.
  const channel = new IpcChannel(port);
  const cancel = new AbortController();
  channel.onCancel((reason) => cancel.abort(new FlowCancelledError(reason)));
  let tracing: ReturnType<typeof runTracingHook> = null;
  try {
    // Loaded here, not when the bundle is imported: their schemas are needed by a run under a worker only.
    const [{ StartMessage }, { IpcReporter }] = await Promise.all([import('./worker-messages.js'), import('./reporter-ipc.js')]);
    // The runner that calls this may come from another SDK version than this bundle's copy: check what it passed.
    const { run } = StartMessage.parse(start);
    const reporter = new IpcReporter(channel);
    tracing = runTracingHook();
    tracing?.observe(reporter);
    const outcome = await runFlowRun(def, run.parameters, {
      reporter,
      run: {
        id: run.id,
        attempt: run.attempt,
        name: run.name,
        flowName: run.flowName,
        deploymentId: run.deploymentId,
        deploymentName: run.deploymentName ?? null,
        ...(run.scheduledTime ? { scheduledTime: new Date(run.scheduledTime) } : {}),
        scheduleId: run.scheduleId ?? null,
        tags: run.tags ?? [],
        partitionKey: run.partitionKey ?? null,
      },
      cancel: cancel.signal,
    });
    await tracing?.finish(outcome.stateType);
    await channel.flush({ t: 'done', stateType: outcome.stateType });
  } finally {
    // An internal failure ends the run as the worker then proposes it.
    await tracing?.finish('CRASHED');
    channel.close();
  }
}
