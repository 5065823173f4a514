import { pathToFileURL } from 'node:url';
import { MAX_STATE_MESSAGE_LENGTH, type StateType } from '../contracts/states.js';
import { proposeUntilDecided } from './engine.js';
import { describeError, toError } from './errors.js';
import { IpcChannel } from './ipc-channel.js';
import { isMainModule } from './main-module.js';
import { RUN_DESCRIPTOR_BASE_FIELDS, StartMessage } from './protocol.js';
import { flowRegistry, type RegisteredFlow } from './registry.js';
import { IpcReporter } from './reporter-ipc.js';
import { type RunTracingHook, setRunTracingHook } from './tracing-hook.js';

/*
 * The flow process's entry point, spawned by the worker as `node <this file>` with an IPC channel
 * (docs/runtime-protocol.md). It loads the bundle and hands the run to the bundle's own copy of the
 * runtime; it only reports by itself when there is no flow to hand the run to.
 */

function waitForStart(): Promise<StartMessage> {
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if ((message as { t?: unknown } | null)?.t !== 'start') return;
      process.off('message', onMessage);
      const parsed = StartMessage.safeParse(message);
      if (parsed.success) resolve(parsed.data);
      else reject(new Error(`malformed start message: ${parsed.error.message}`));
    };
    process.on('message', onMessage);
  });
}

/** End a run whose flow never started: report why, propose the state, say done. */
async function finishWithoutFlow(channel: IpcChannel, type: StateType, message: string, detail?: string): Promise<void> {
  const reporter = new IpcReporter(channel);
  reporter.log({ level: type === 'FAILED' ? 'error' : 'info', message: detail ?? message, timestamp: new Date() });
  const judged = await proposeUntilDecided(reporter, { type, message: message.slice(0, MAX_STATE_MESSAGE_LENGTH) });
  await channel.flush({ t: 'done', stateType: judged.stateType });
}

/**
 * The start message as the flow's own copy of the SDK checks it: all of it for a bundle that reads
 * run contexts, only the fields it knows for one built before them (its strict schema would refuse the rest).
 */
export function startMessageFor(registered: Pick<RegisteredFlow, 'acceptsRunContext'>, start: StartMessage): StartMessage {
  if (registered.acceptsRunContext) return start;
  const run = Object.fromEntries(
    RUN_DESCRIPTOR_BASE_FIELDS.map((key) => [key, start.run[key]]),
  ) as unknown as StartMessage['run'];
  return { ...start, run };
}

/** The run's tracing, when an OTLP endpoint and the worker's TRACEPARENT are set; loaded only then. */
let tracing: RunTracingHook | null = null;

async function startTracing(run: StartMessage['run']): Promise<void> {
  if (!process.env.TRACEPARENT || !(process.env.OTEL_EXPORTER_OTLP_ENDPOINT || process.env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT))
    return;
  try {
    const { RunTracing } = await import('./tracing.js');
    tracing = await RunTracing.start(run);
    if (tracing) setRunTracingHook(tracing);
  } catch {
    // Tracing that cannot start leaves the run untraced, never unrun.
    tracing = null;
  }
}

async function main(): Promise<number> {
  if (!process.send) {
    process.stderr.write('outpost runner: start this through an Outpost worker (it needs an IPC channel)\n');
    return 1;
  }
  // Without the worker nobody reads our reports, and the run is already being handed back as crashed.
  process.on('disconnect', () => process.exit(1));

  const channel = new IpcChannel(process);
  let cancelReason: string | null = null;
  channel.onCancel((reason) => {
    cancelReason = reason;
  });
  const started = waitForStart();
  await channel.flush({ t: 'ready' });
  const start = await started;
  // A flow process the worker started ahead of its run learns the run's environment only now.
  if (start.cwd !== undefined) process.chdir(start.cwd);
  if (start.env !== undefined) Object.assign(process.env, start.env);
  await startTracing(start.run);

  if (cancelReason === null) {
    try {
      await import(pathToFileURL(start.entry).href);
    } catch (thrown) {
      const error = toError(thrown);
      const message = `could not load ${start.entry}: ${describeError(error)}`;
      await finishWithoutFlow(channel, 'FAILED', message, error.stack ? `${message}\n${error.stack}` : message);
      return 0;
    }
  }
  if (cancelReason !== null) {
    await finishWithoutFlow(channel, 'CANCELLED', cancelReason);
    return 0;
  }

  const registry = flowRegistry();
  const registered = registry.get(start.run.flowName);
  if (!registered) {
    const found = [...registry.keys()].map((name) => `'${name}'`).join(', ') || 'none';
    await finishWithoutFlow(
      channel,
      'FAILED',
      `flow '${start.run.flowName}' is not defined in ${start.entry}; flows found: ${found}`,
    );
    return 0;
  }
  // From here the bundle's runtime owns the channel: it answers cancels and matches its own replies.
  channel.close();
  await registered.execute(startMessageFor(registered, start));
  return 0;
}

if (isMainModule(import.meta.url)) {
  main().then(
    async (code) => {
      // The flow's runtime ended the spans with the run's state; a run that never reached it (no
      // flow, a bundle older than tracing) still has its flow span exported, without a state.
      await tracing?.finish(null);
      process.exit(code);
    },
    async (error: unknown) => {
      process.stderr.write(`outpost runner: ${toError(error).stack ?? String(error)}\n`);
      // Bounded: an unreachable collector never holds up the exit.
      await tracing?.finish('CRASHED');
      process.exit(1);
    },
  );
}
