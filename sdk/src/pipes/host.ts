import { AsyncResource } from 'node:async_hooks';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type FSWatcher, watch } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { AssetContext } from '../assets/asset.js';
import type { MetadataValue } from '../assets/io.js';
import { artifact } from '../runtime/artifacts.js';
import { currentScope } from '../runtime/context.js';
import { describeError, toError } from '../runtime/errors.js';
import { type Logger, log } from '../runtime/logger.js';
import { openCheckSlots, recordCheck, reportedCheck } from './checks.js';
import { LineSplitter } from './lines.js';
import { pythonClientDir, withPythonClient } from './python-path.js';
import { open as openSession } from './session.js';

/** The protocol version this launcher speaks (docs/pipes.md). */
export const PIPES_PROTOCOL = 1;
/** A message line longer than this is skipped with a warning. */
export const PIPES_MAX_LINE_BYTES = 1024 * 1024;
/** Output lines (stdout, stderr) longer than this are skipped with a warning. */
const MAX_OUTPUT_LINE_BYTES = 1024 * 1024;
const DEFAULT_KILL_GRACE_MS = 10_000;
/** How often the `file:` channel is read besides when the file system says it changed. */
const FILE_POLL_MS = 200;
/** After the process exits, how long its pipes may stay open (a child it left behind holds them). */
const CLOSE_AFTER_EXIT_MS = 2_000;
const STDERR_TAIL_LINES = 20;

export interface PipesRunOptions {
  /** The asset's context, inside an asset: metadata and check results become the asset's. */
  asset?: AssetContext;
  /** JSON handed to the process as the context's `extras`. @default {} */
  extras?: Record<string, unknown>;
  /** Added to the process's environment (which is the flow's); `undefined` removes a variable. @default {} */
  env?: Record<string, string | undefined>;
  /** @default the flow's working directory */
  cwd?: string;
  /** Where the process writes messages: a pipe on descriptor 3, or a file the launcher tails. @default 'fd' */
  channel?: 'fd' | 'file';
  /** After SIGTERM, how long the process has before SIGKILL. @default 10000 */
  killGraceMs?: number;
  /** Log each line the process prints: stdout at info, stderr at warning. @default true */
  forwardOutput?: boolean;
  /** Stops the process like the run's own signal does (both apply). @default the run's signal only */
  signal?: AbortSignal;
}

/** A check result the process reported. */
export interface PipesCheckResult {
  name: string;
  passed: boolean;
  metadata: Record<string, MetadataValue>;
}

/** An artifact the process reported, as published. */
export interface PipesArtifactRecord {
  type: 'markdown' | 'table' | 'link' | 'progress';
  key: string;
  description: string | null;
}

/** The error the client reported with `closed`. */
export interface PipesClientError {
  type: string;
  message: string;
  traceback: string | null;
}

export interface PipesRunResult<R = unknown> {
  /** What the process passed to `report_result` (the last one), or null. */
  result: R | null;
  /** Every metadata value the process reported; later keys win. */
  metadata: Record<string, MetadataValue>;
  /** Check results in the order reported. */
  checks: PipesCheckResult[];
  /** Artifacts in the order reported. */
  artifacts: PipesArtifactRecord[];
  exitCode: number;
  durationMs: number;
}

/** The process could not start, or ended with a non-zero status or by a signal. */
export class PipesProcessError extends Error {
  override readonly name = 'PipesProcessError';
  constructor(
    message: string,
    readonly command: readonly string[],
    /** Null when the process did not start or was ended by a signal. */
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    /** What the client reported with `closed`, if it did. */
    readonly clientError: PipesClientError | null,
    /** The last lines the process printed on stderr. */
    readonly stderr: readonly string[],
  ) {
    super(message);
  }
}

interface PipesContextFile {
  protocol: number;
  run: { id: string; name: string; attempt: number; flowName: string | null; deploymentName: string | null };
  task: { runId: string; name: string; key: string; attempt: number } | null;
  asset: { key: string; codeVersion: string } | null;
  partition: { key: string | null; range?: { start: string; end: string; keys: readonly string[] } } | null;
  extras: Record<string, unknown>;
}

const LOG_LEVELS = new Set(['debug', 'info', 'warning', 'error']);
const ARTIFACT_TYPES = new Set(['markdown', 'table', 'link', 'progress']);

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export function preview(text: string): string {
  return text.length > 200 ? `${text.slice(0, 199)}…` : text;
}

function describeCommand(command: readonly string[]): string {
  return preview(command.map((part) => (/^[\w@%+=:,./-]+$/.test(part) ? part : JSON.stringify(part))).join(' '));
}

/**
 * The context the process reads. Outside a flow run there is no run to name: `run` then has a
 * fresh id, the name `local`, attempt 1 and null flow and deployment names.
 */
export function buildContext(options: Pick<PipesRunOptions, 'asset' | 'extras'>): PipesContextFile {
  const { run, task } = currentScope();
  const ctx = options.asset;
  const runContext = run?.context;
  let partition: PipesContextFile['partition'] = null;
  if (ctx?.partitionRange) {
    const { start, end, keys } = ctx.partitionRange;
    partition = { key: ctx.partition?.key ?? null, range: { start, end, keys: [...keys] } };
  } else if (ctx) {
    partition = ctx.partition ? { key: ctx.partition.key } : null;
  } else if (runContext?.partitionKey) {
    partition = { key: runContext.partitionKey };
  }
  return {
    protocol: PIPES_PROTOCOL,
    run: runContext
      ? {
          id: run.run.id,
          name: runContext.runName,
          attempt: runContext.attempt,
          flowName: runContext.flowName,
          deploymentName: runContext.deploymentName,
        }
      : { id: randomUUID(), name: 'local', attempt: 1, flowName: null, deploymentName: null },
    task: task ? { runId: task.taskRunId, name: task.taskName, key: task.taskKey, attempt: task.runCount } : null,
    asset: ctx ? { key: ctx.assetKey, codeVersion: ctx.codeVersion } : null,
    partition,
    extras: options.extras ?? {},
  };
}

/** Reads a file from where it was last read to its end, whenever asked; one read at a time. */
class FileTail {
  private offset = 0;
  private reading: Promise<void> | null = null;
  private again = false;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly handle: FileHandle,
    private readonly lines: LineSplitter,
    private readonly onError: (error: Error) => void,
  ) {}

  start(file: string): void {
    try {
      this.watcher = watch(file, () => this.poke());
      this.watcher.on('error', () => undefined);
    } catch {
      // Without change events the poll still reads it.
    }
    this.timer = setInterval(() => this.poke(), FILE_POLL_MS);
  }

  private poke(): void {
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = this.readToEnd()
      .catch((error: unknown) => this.onError(toError(error)))
      .finally(() => {
        this.reading = null;
        if (this.again) {
          this.again = false;
          this.poke();
        }
      });
  }

  private async readToEnd(): Promise<void> {
    for (;;) {
      const buffer = Buffer.allocUnsafe(64 * 1024);
      const { bytesRead } = await this.handle.read(buffer, 0, buffer.length, this.offset);
      if (bytesRead === 0) return;
      this.offset += bytesRead;
      this.lines.push(buffer.subarray(0, bytesRead));
    }
  }

  /** After the process ended: stops watching and reads what is left, to the end. */
  async finish(): Promise<void> {
    this.watcher?.close();
    if (this.timer) clearInterval(this.timer);
    while (this.reading) await this.reading;
    await this.readToEnd();
    this.lines.end();
  }
}

/** What a channel's messages become: the outcome so far, and the splitter its bytes are pushed into. */
export interface Receiver<R> {
  outcome: PipesRunResult<R>;
  messages: LineSplitter;
  warn: (message: string) => void;
  /** Resolves once every message received so far has been handled. */
  settled: () => Promise<void>;
  /** What the client reported with `closed`, if it did. */
  clientError: () => PipesClientError | null;
}

/**
 * Turns a channel's message lines into log lines, metadata, check results, artifacts and a result
 * of the run (the asset's, inside an asset), handled one after another in the order written.
 */
export function openReceiver<R>(shown: string, ctx: AssetContext | undefined, logger: Logger): Receiver<R> {
  const { run: runScope, task } = currentScope();
  const runId = runScope?.run.id ?? 'local';
  const checkPartitions: (string | null)[] = ctx
    ? ctx.partitionRange
      ? [...ctx.partitionRange.keys]
      : [ctx.partition?.key ?? null]
    : [];
  if (ctx) openCheckSlots(runId, ctx.assetKey, checkPartitions, task ? `${task.taskRunId}:${task.runCount}` : randomUUID());

  const outcome: PipesRunResult<R> = { result: null, metadata: {}, checks: [], artifacts: [], exitCode: 0, durationMs: 0 };
  let clientError: PipesClientError | null = null;

  // Messages are handled one after another, in the order they were written.
  let handling: Promise<void> = Promise.resolve();
  const warn = (message: string) => logger.warning(`${shown}: ${message}`);

  const handle = async (message: Record<string, unknown>): Promise<void> => {
    const params = (message.params ?? {}) as Record<string, unknown>;
    switch (message.method) {
      case 'opened':
        return;
      case 'log': {
        const level = params.level;
        if (typeof level !== 'string' || !LOG_LEVELS.has(level) || typeof params.message !== 'string') {
          warn(`a log message needs a level (debug, info, warning, error) and a message; ignored`);
          return;
        }
        logger[level as 'debug' | 'info' | 'warning' | 'error'](params.message);
        return;
      }
      case 'metadata': {
        if (!isObject(params.values)) {
          warn('a metadata message needs values, an object; ignored');
          return;
        }
        const values = params.values as Record<string, MetadataValue>;
        if (ctx) {
          try {
            ctx.addMetadata(values);
          } catch (error) {
            warn(`metadata not added: ${toError(error).message}`);
            return;
          }
        }
        Object.assign(outcome.metadata, values);
        return;
      }
      case 'check': {
        if (
          typeof params.name !== 'string' ||
          typeof params.passed !== 'boolean' ||
          (params.metadata !== undefined && !isObject(params.metadata))
        ) {
          warn('a check message needs a name, passed (a boolean) and optional metadata (an object); ignored');
          return;
        }
        const result = {
          name: params.name,
          passed: params.passed,
          metadata: (params.metadata ?? {}) as Record<string, MetadataValue>,
        };
        outcome.checks.push(result);
        // Outside an asset there is no check to decide: the result is only returned.
        if (ctx)
          recordCheck(runId, ctx.assetKey, checkPartitions, result.name, { passed: result.passed, metadata: result.metadata });
        return;
      }
      case 'artifact': {
        const { type, key, description } = params;
        if (
          typeof type !== 'string' ||
          !ARTIFACT_TYPES.has(type) ||
          typeof key !== 'string' ||
          (description !== undefined && description !== null && typeof description !== 'string')
        ) {
          warn('an artifact message needs a type (markdown, table, link, progress) and a key; ignored');
          return;
        }
        const artifactOptions = typeof description === 'string' ? { description } : {};
        try {
          if (type === 'markdown') {
            if (typeof params.markdown !== 'string') throw new TypeError('a markdown artifact needs markdown, a string');
            await artifact.markdown(key, params.markdown, artifactOptions);
          } else if (type === 'table') {
            if (!Array.isArray(params.rows) || !params.rows.every(isObject))
              throw new TypeError('a table artifact needs rows, an array of objects');
            await artifact.table(key, params.rows as Record<string, unknown>[], artifactOptions);
          } else if (type === 'link') {
            if (typeof params.url !== 'string') throw new TypeError('a link artifact needs url, a string');
            const text = typeof params.text === 'string' ? params.text : undefined;
            await artifact.link(key, params.url, text, artifactOptions);
          } else {
            if (typeof params.progress !== 'number')
              throw new TypeError('a progress artifact needs progress, a number from 0 to 1');
            await artifact.progress(key, params.progress, artifactOptions);
          }
        } catch (error) {
          warn(`artifact '${key}' not published: ${toError(error).message}`);
          return;
        }
        outcome.artifacts.push({
          type: type as PipesArtifactRecord['type'],
          key,
          description: typeof description === 'string' ? description : null,
        });
        return;
      }
      case 'result':
        outcome.result = (params.value ?? null) as R | null;
        return;
      case 'closed': {
        const error = params.error;
        if (error === undefined || error === null) return;
        if (!isObject(error) || typeof error.message !== 'string') {
          warn('a closed message’s error needs a message; ignored');
          return;
        }
        clientError = {
          type: typeof error.type === 'string' ? error.type : 'Error',
          message: error.message,
          traceback: typeof error.traceback === 'string' ? error.traceback : null,
        };
        return;
      }
      default:
        warn(`unknown message method '${preview(String(message.method))}'; ignored`);
    }
  };

  const onMessageLine = (line: string) => {
    if (line.trim() === '') return;
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch {
      warn(`a message line is not JSON; ignored: ${preview(line)}`);
      return;
    }
    if (!isObject(message) || typeof message.method !== 'string' || (message.params !== undefined && !isObject(message.params))) {
      warn(`a message line is not {"outpost_pipes": 1, "method", "params"}; ignored: ${preview(line)}`);
      return;
    }
    if (message.outpost_pipes !== PIPES_PROTOCOL) {
      warn(
        `a message of protocol version ${preview(JSON.stringify(message.outpost_pipes) ?? 'none')} is not understood (this launcher speaks ${PIPES_PROTOCOL}); ignored`,
      );
      return;
    }
    handling = handling.then(() =>
      handle(message).catch((error: unknown) => warn(`the '${message.method}' message failed: ${describeError(toError(error))}`)),
    );
  };
  const messages = new LineSplitter(PIPES_MAX_LINE_BYTES, onMessageLine, (bytes) =>
    warn(`a message line of ${bytes} bytes is longer than ${PIPES_MAX_LINE_BYTES}; skipped`),
  );
  return { outcome, messages, warn, settled: () => handling, clientError: () => clientError };
}

/**
 * Launches `command` (no shell) as a Pipes process and waits for it: hands it the context, turns
 * its messages into log lines, metadata, check results, artifacts and a result of the run, and
 * resolves when it exits with status 0. Throws `PipesProcessError` otherwise.
 */
async function run<R = unknown>(command: readonly string[], options: PipesRunOptions = {}): Promise<PipesRunResult<R>> {
  if (!Array.isArray(command) || command.length === 0 || command.some((part) => typeof part !== 'string')) {
    throw new TypeError("pipes.run needs the command as a non-empty array of strings, e.g. ['python3', 'train.py']");
  }
  const channel = options.channel ?? 'fd';
  if (channel !== 'fd' && channel !== 'file')
    throw new TypeError(`pipes.run: channel must be 'fd' or 'file', not '${String(channel)}'`);
  const killGraceMs = options.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  if (!Number.isFinite(killGraceMs) || killGraceMs < 0)
    throw new TypeError('pipes.run: killGraceMs must be a number of milliseconds, 0 or more');
  if (options.extras !== undefined && !isObject(options.extras))
    throw new TypeError('pipes.run: extras must be an object of JSON values');

  const started = performance.now();
  const shown = describeCommand(command);
  const { run: runScope, task } = currentScope();
  const ctx = options.asset;
  const logger: Logger = ctx?.log ?? log;
  const runSignal = ctx?.signal ?? task?.signal ?? runScope?.signal;
  const signals = [runSignal, options.signal].filter((s): s is AbortSignal => s !== undefined);
  const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
  const context = buildContext(options);
  const contextJson = JSON.stringify(context);

  const receiver = openReceiver<R>(shown, ctx, logger);
  const { outcome, messages, warn } = receiver;
  const stderrTail: string[] = [];

  const forward = options.forwardOutput ?? true;
  const stdout = new LineSplitter(
    MAX_OUTPUT_LINE_BYTES,
    (line) => forward && logger.info(line),
    (bytes) => forward && warn(`a stdout line of ${bytes} bytes was not logged`),
  );
  const stderr = new LineSplitter(
    MAX_OUTPUT_LINE_BYTES,
    (line) => {
      if (line.trim() !== '') {
        stderrTail.push(preview(line));
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      }
      if (forward) logger.warning(line);
    },
    (bytes) => forward && warn(`a stderr line of ${bytes} bytes was not logged`),
  );

  if (signal?.aborted) {
    throw new PipesProcessError(
      `${shown} was not started: ${describeError(toError(signal.reason))}`,
      [...command],
      null,
      null,
      null,
      [],
    );
  }

  const dir = await mkdtemp(path.join(tmpdir(), 'outpost-pipes-'));
  let tail: FileTail | null = null;
  let messagesFile: FileHandle | null = null;
  try {
    const contextPath = path.join(dir, 'context.json');
    await writeFile(contextPath, contextJson, { mode: 0o600, flag: 'wx' });
    let channelSpec = 'fd:3';
    if (channel === 'file') {
      const messagesPath = path.join(dir, 'messages.jsonl');
      await writeFile(messagesPath, '', { mode: 0o600, flag: 'wx' });
      messagesFile = await open(messagesPath, 'r');
      tail = new FileTail(messagesFile, messages, (error) => warn(`reading the messages file failed: ${error.message}`));
      tail.start(messagesPath);
      channelSpec = `file:${messagesPath}`;
    }
    const env: Record<string, string | undefined> = { ...process.env, ...options.env };
    for (const [name, value] of Object.entries(env)) if (value === undefined) delete env[name];
    env.OUTPOST_PIPES_CONTEXT = contextPath;
    env.OUTPOST_PIPES_MESSAGES = channelSpec;
    const pythonPath = withPythonClient(env.PYTHONPATH, pythonClientDir(env));
    if (pythonPath !== undefined) env.PYTHONPATH = pythonPath;

    const child = spawn(command[0] as string, command.slice(1), {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe', channel === 'fd' ? 'pipe' : 'ignore'],
    });
    const bind = <A extends unknown[]>(fn: (...args: A) => void) => AsyncResource.bind(fn);
    const read = (stream: Readable | null | undefined, lines: LineSplitter) => {
      stream?.on(
        'data',
        bind((chunk: Buffer) => lines.push(chunk)),
      );
      stream?.on(
        'end',
        bind(() => lines.end()),
      );
      stream?.on('error', () => undefined);
    };
    read(child.stdout, stdout);
    read(child.stderr, stderr);
    if (channel === 'fd') read(child.stdio[3] as Readable | null, messages);

    let stoppedBy: string | null = null;
    let killTimer: NodeJS.Timeout | null = null;
    const stop = () => {
      stoppedBy = describeError(toError(signal?.reason));
      child.kill('SIGTERM');
      killTimer = setTimeout(() => child.kill('SIGKILL'), killGraceMs);
    };
    signal?.addEventListener('abort', stop, { once: true });
    // The signal may have fired while the context was being written.
    if (signal?.aborted) stop();

    const ended = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error: Error | null }>((resolve) => {
      let spawnError: Error | null = null;
      let closeTimer: NodeJS.Timeout | null = null;
      child.on('error', (error) => {
        if (child.pid === undefined) spawnError = error;
      });
      child.once('exit', () => {
        if (killTimer) clearTimeout(killTimer);
        // A process it started may still hold the pipes; do not wait on it for long.
        closeTimer = setTimeout(() => {
          for (const stream of [child.stdout, child.stderr, child.stdio[3]]) (stream as Readable | null)?.destroy();
          resolve({ code: child.exitCode, signal: child.signalCode, error: spawnError });
        }, CLOSE_AFTER_EXIT_MS);
      });
      child.once('close', (code, exitSignal) => {
        if (closeTimer) clearTimeout(closeTimer);
        if (killTimer) clearTimeout(killTimer);
        resolve({ code, signal: exitSignal, error: spawnError });
      });
    });
    signal?.removeEventListener('abort', stop);
    if (tail) {
      await tail.finish();
      tail = null;
    }
    await receiver.settled();
    outcome.durationMs = Math.max(0, Math.round(performance.now() - started));

    if (ended.error) {
      throw new PipesProcessError(`could not start ${shown}: ${ended.error.message}`, [...command], null, null, null, []);
    }
    const reported = receiver.clientError();
    if (ended.code === 0) {
      if (reported) warn(`exited with status 0 but reported an error: ${reported.type}: ${reported.message}`);
      outcome.exitCode = 0;
      return outcome;
    }
    let message = ended.signal ? `${shown} was killed by ${ended.signal}` : `${shown} exited with status ${ended.code}`;
    if (stoppedBy) message += ` after it was stopped (${stoppedBy})`;
    if (reported) message += `: ${reported.type}: ${reported.message}`;
    else if (stderrTail.length > 0) message += `; its last line on stderr: ${stderrTail.at(-1)}`;
    throw new PipesProcessError(message, [...command], ended.code, ended.signal, reported, [...stderrTail]);
  } finally {
    if (tail) await tail.finish().catch(() => undefined);
    await messagesFile?.close().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Launch external programs (a `train.py`, an R script, a binary) from a task or an asset and hear
 * back from them: see docs/pipes.md for the protocol and the clients.
 * @example
 * const run = await pipes.run(['python3', 'train.py'], { asset: ctx, extras: { epochs: 20 } });
 */
export const pipes = {
  run,
  open: openSession,
  reportedCheck,
} as const;
