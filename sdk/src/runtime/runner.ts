import { pathToFileURL } from 'node:url';
import type { StateType } from '../contracts/states.js';
import { describeError, toError } from './errors.js';
import { recordTaskAck } from './ipc-window.js';
import { isMainModule } from './main-module.js';
import type { StartMessage } from './protocol.js';
import { flowRegistry, type RegisteredFlow } from './registry.js';
import { RUN_DESCRIPTOR_BASE_FIELDS, type StartFields, startFields } from './start-fields.js';
import { type RunTracingHook, setRunTracingHook } from './tracing-hook.js';

/*
 * The flow process's entry point, spawned by the worker as `node <this file>` with an IPC channel
 * (docs/runtime-protocol.md). It loads the bundle and hands the run to the bundle's own copy of the
 * runtime; it only reports by itself when there is no flow to hand the run to.
 *
 * Until the hand-over it imports nothing that builds a zod schema: the bundle brings its own copy of
 * the SDK, whose schemas it builds anyway, and the runner's copy (zod and the contracts the protocol
 * uses) cost every flow process as much CPU again (bench notes of 2026-11-25). The runtime's
 * protocol modules are loaded only when the runner has to report a run by itself.
 */

/**
 * The worker's words before the bundle's runtime takes the channel: the start message, a cancel, and
 * the `taskAck` that opens the task-run window (recorded where the bundle's channel will read it).
 */
class PreStartListener {
  cancelReason: string | null = null;
  readonly started: Promise<StartFields>;
  /** A warm start's `preload`, if the worker sends one before `start`. */
  readonly preload: Promise<Preload>;
  private onStart!: (raw: unknown) => void;
  private onPreload!: (raw: unknown) => void;

  constructor(private readonly port: NodeJS.Process) {
    this.started = new Promise((resolve, reject) => {
      this.onStart = (raw) => {
        const checked = startFields(raw);
        if (checked.ok) resolve(checked.start);
        else reject(new Error(`malformed start message: ${checked.message}`));
      };
    });
    this.preload = new Promise((resolve, reject) => {
      this.onPreload = (raw) => {
        const { entry, cwd, env } = raw as { entry?: unknown; cwd?: unknown; env?: unknown };
        const envOk =
          env === undefined ||
          (typeof env === 'object' && env !== null && Object.values(env).every((value) => typeof value === 'string'));
        if (typeof entry === 'string' && entry !== '' && typeof cwd === 'string' && cwd !== '' && envOk)
          resolve({ entry, cwd, ...(env === undefined ? {} : { env: env as Record<string, string> }) });
        else reject(new Error('malformed preload message: it needs an entry, a cwd and string variables'));
      };
    });
    // Neither is awaited until the worker speaks; a malformed one is reported where it is awaited.
    this.started.catch(() => {});
    this.preload.catch(() => {});
    port.on('message', this.listener);
  }

  private readonly listener = (message: unknown): void => {
    const t = (message as { t?: unknown } | null)?.t;
    if (t === 'start') this.onStart(message);
    else if (t === 'preload') this.onPreload(message);
    else if (t === 'taskAck') recordTaskAck(this.port, message);
    else if (t === 'cancel') {
      const reason = (message as { reason?: unknown }).reason;
      this.cancelReason = typeof reason === 'string' ? reason : 'cancelled';
    }
  };

  close(): void {
    this.port.off('message', this.listener);
  }
}

interface Preload {
  entry: string;
  cwd: string;
  env?: Record<string, string>;
}

/**
 * A warm start's import: the bundle is imported before its run is handed over, with only the
 * variables every run of the worker shares. What the import reads of `process.env` is recorded by
 * name (never by value) while it runs: a variable the run will set, read now, would have been seen
 * unset, so the worker gives such a run a fresh process instead (docs/runtime-protocol.md).
 */
async function preloadBundle(
  preload: Preload,
): Promise<{ t: 'preloaded'; ok: boolean; envReads: string[]; envListed: boolean; error?: string }> {
  process.chdir(preload.cwd);
  const env = process.env;
  if (preload.env) Object.assign(env, preload.env);
  const reads = new Set<string>();
  let listed = false;
  let watching = true;
  const noteRead = (key: string | symbol) => {
    if (watching && typeof key === 'string') reads.add(key);
  };
  // A module that keeps `process.env` keeps this proxy: it forwards to the real environment, which
  // the run's variables are written to at hand-over, and records nothing after the import.
  process.env = new Proxy(env, {
    get(target, key) {
      noteRead(key);
      return Reflect.get(target, key);
    },
    has(target, key) {
      noteRead(key);
      return Reflect.has(target, key);
    },
    getOwnPropertyDescriptor(target, key) {
      noteRead(key);
      return Reflect.getOwnPropertyDescriptor(target, key);
    },
    ownKeys(target) {
      if (watching) listed = true;
      return Reflect.ownKeys(target);
    },
  });
  try {
    await import(pathToFileURL(preload.entry).href);
  } catch (thrown) {
    return { t: 'preloaded', ok: false, envReads: [...reads], envListed: listed, error: describeError(toError(thrown)) };
  } finally {
    watching = false;
    process.env = env;
  }
  // The bundle's runtime loads what a run needs now rather than after the run is given.
  const prepare = [...flowRegistry().values()].find((registered) => registered.prepare)?.prepare;
  await prepare?.().catch(() => {});
  return { t: 'preloaded', ok: true, envReads: [...reads], envListed: listed };
}

/** Resolves once `message` (and, the channel being ordered, every one before it) is written. */
function flush(message: { t: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) {
      reject(new Error('no IPC channel to the worker'));
      return;
    }
    process.send(message, undefined, {}, (error) => (error ? reject(error) : resolve()));
  });
}

/** End a run whose flow never started: report why, propose the state, say done. */
async function finishWithoutFlow(type: StateType, message: string, detail?: string): Promise<void> {
  const [{ IpcChannel }, { IpcReporter }, { proposeUntilDecided }, { MAX_STATE_MESSAGE_LENGTH }] = await Promise.all([
    import('./ipc-channel.js'),
    import('./reporter-ipc.js'),
    import('./engine.js'),
    import('../contracts/states.js'),
  ]);
  const channel = new IpcChannel(process);
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

  const worker = new PreStartListener(process);
  await flush({ t: 'ready' });
  const first = await Promise.race([worker.started.then(() => null), worker.preload]);
  let preloaded: string | null = null;
  if (first !== null) {
    const answer = await preloadBundle(first);
    await flush(answer);
    // The worker gives this process no run; it starts the next one afresh, which reports why.
    if (!answer.ok) return 0;
    preloaded = first.entry;
  }
  const start = await worker.started;
  // A flow process the worker started ahead of its run learns the run's environment only now.
  if (start.cwd !== undefined) process.chdir(start.cwd);
  if (start.env !== undefined) Object.assign(process.env, start.env);
  await startTracing(start.run as StartMessage['run']);

  if (preloaded !== null && preloaded !== start.entry) {
    worker.close();
    await finishWithoutFlow('FAILED', `this flow process imported ${preloaded} ahead of the run, not ${start.entry}`);
    return 0;
  }
  if (worker.cancelReason === null && preloaded === null) {
    try {
      await import(pathToFileURL(start.entry).href);
    } catch (thrown) {
      const error = toError(thrown);
      const message = `could not load ${start.entry}: ${describeError(error)}`;
      worker.close();
      await finishWithoutFlow('FAILED', message, error.stack ? `${message}\n${error.stack}` : message);
      return 0;
    }
  }
  if (worker.cancelReason !== null) {
    worker.close();
    await finishWithoutFlow('CANCELLED', worker.cancelReason);
    return 0;
  }

  const registry = flowRegistry();
  const registered = registry.get(start.run.flowName);
  if (!registered) {
    const found = [...registry.keys()].map((name) => `'${name}'`).join(', ') || 'none';
    worker.close();
    await finishWithoutFlow('FAILED', `flow '${start.run.flowName}' is not defined in ${start.entry}; flows found: ${found}`);
    return 0;
  }
  // From here the bundle's runtime owns the channel: it checks the start message, answers cancels and matches its own replies.
  worker.close();
  await registered.execute(startMessageFor(registered, start as StartMessage));
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
