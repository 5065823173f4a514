/**
 * The Pipes client for a Node program that a flow launches with `pipes.run`: it reads the context
 * the launcher wrote and sends messages back, one JSON object per line (protocol version 1, see
 * docs/pipes.md). It imports nothing else of the SDK, so it runs in any plain Node process.
 * @example
 * import { openPipes } from '@outpost/sdk/pipes-client';
 * const pipes = openPipes();
 * pipes.log.info('training');
 * pipes.reportMetadata({ auc: 0.91 });
 * pipes.reportCheck('auc_above_0_8', { passed: true, metadata: { auc: 0.91 } });
 * pipes.close();
 */
import { execFileSync } from 'node:child_process';
import { openSync, readFileSync, writeSync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** The protocol version this client speaks. */
export const PIPES_PROTOCOL = 1;

/** Messages longer than this (in bytes, newline included) are refused by the launcher. */
const MAX_LINE_BYTES = 1024 * 1024;
/** A log message is cut to this many characters so its line stays under the limit. */
const MAX_LOG_CHARS = 256 * 1024;

/** What the launcher hands the process: its run, task, asset, partition and extras. */
export interface PipesContext {
  readonly protocol: number;
  readonly run: {
    readonly id: string;
    readonly name: string;
    readonly attempt: number;
    readonly flowName: string | null;
    readonly deploymentName: string | null;
  };
  readonly task: { readonly runId: string; readonly name: string; readonly key: string; readonly attempt: number } | null;
  readonly asset: { readonly key: string; readonly codeVersion: string } | null;
  readonly partition: {
    readonly key: string | null;
    readonly range?: { readonly start: string; readonly end: string; readonly keys: readonly string[] };
  } | null;
  readonly extras: Readonly<Record<string, unknown>>;
}

export type PipesLogLevel = 'debug' | 'info' | 'warning' | 'error';

/** An artifact as the process reports it; the launcher publishes it with the run. */
export type PipesArtifact =
  | { type: 'markdown'; key: string; markdown: string; description?: string }
  | { type: 'table'; key: string; rows: readonly Record<string, unknown>[]; description?: string }
  | { type: 'link'; key: string; url: string; text?: string | null; description?: string }
  | { type: 'progress'; key: string; progress: number; description?: string };

export interface PipesClient {
  /** True when a launcher is listening; false run outside Outpost, where messages print to stderr. */
  readonly active: boolean;
  /** The context the launcher wrote; a local stand-in (run `local`, no task, asset or partition) outside Outpost. */
  readonly context: PipesContext;
  /** The extras the flow passed (`{}` outside Outpost). */
  readonly extras: Readonly<Record<string, unknown>>;
  /** Lines of the task run that launched the process. */
  readonly log: Record<PipesLogLevel, (message: unknown) => void>;
  /** Metadata of the materialisation (an asset) or of the returned value (a task); later keys win. */
  reportMetadata(values: Record<string, unknown>): void;
  /** The outcome of an asset check, read by `pipes.reportedCheck()`. */
  reportCheck(name: string, outcome: { passed: boolean; metadata?: Record<string, unknown> }): void;
  reportArtifact(artifact: PipesArtifact): void;
  markdown(key: string, markdown: string, options?: { description?: string }): void;
  table(key: string, rows: readonly Record<string, unknown>[], options?: { description?: string }): void;
  link(key: string, url: string, text?: string, options?: { description?: string }): void;
  progress(key: string, fraction: number, options?: { description?: string }): void;
  /** What `pipes.run` returns as `result` (the last one wins). */
  reportResult(value: unknown): void;
  /** Says the process is done; with an error, the launcher puts its message into the failure. Sent once. */
  close(error?: unknown): void;
}

type Sink = (line: string) => void;

const LOCAL_CONTEXT: PipesContext = Object.freeze({
  protocol: PIPES_PROTOCOL,
  run: Object.freeze({ id: 'local', name: 'local', attempt: 1, flowName: null, deploymentName: null }),
  task: null,
  asset: null,
  partition: null,
  extras: Object.freeze({}),
});

/** Blocks for `ms` without leaving the event loop a chance to reorder writes. */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Writes all of `text` to `fd`, waiting out a full non-blocking pipe. */
function writeAll(fd: number, text: string): void {
  let bytes = Buffer.from(text, 'utf8');
  while (bytes.length > 0) {
    try {
      const written = writeSync(fd, bytes);
      bytes = bytes.subarray(written);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      pause(2);
    }
  }
}

const isUrl = (spec: string) => spec.startsWith('http://') || spec.startsWith('https://');

/** A session URL without its secret (the first path segment), for messages. */
function shownUrl(url: string): string {
  return url.replace(/^(https?:\/\/[^/]+)\/[^/]+\//, '$1/…/');
}

/** The context a session serves (`pipes.open`), read synchronously, as the client's API is. */
function fetchContext(url: string): string {
  const script =
    'fetch(process.argv[1]).then(async (r) => { if (!r.ok) throw new Error("HTTP " + r.status); process.stdout.write(await r.text()); })' +
    '.catch((e) => { process.stderr.write(String(e.message)); process.exit(1); })';
  try {
    return execFileSync(process.execPath, ['-e', script, url], { encoding: 'utf8', timeout: 60_000 });
  } catch (error) {
    const detail = String((error as { stderr?: unknown }).stderr ?? '').trim() || (error as Error).message;
    throw new Error(`cannot read the Pipes context from ${shownUrl(url)}: ${detail}`);
  }
}

/**
 * Posts each line to a session's messages URL, synchronously: a worker thread sends it (tried again
 * on connection errors and 5xx answers) while this thread waits, so lines arrive in order and the
 * `closed` sent as the process exits is delivered too.
 */
function httpSink(url: string): Sink {
  const state = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const state = new Int32Array(workerData.buffer);
     parentPort.on('message', async (line) => {
       let outcome = 2;
       for (let attempt = 0; attempt < 5; attempt++) {
         try {
           const res = await fetch(workerData.url, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body: line });
           await res.arrayBuffer();
           if (res.ok) { outcome = 1; break; }
           if (res.status < 500) break;
         } catch {}
         await new Promise((resolve) => setTimeout(resolve, Math.min(8000, 250 * 2 ** attempt)));
       }
       Atomics.store(state, 0, outcome);
       Atomics.notify(state, 0);
     });`,
    { eval: true, workerData: { url, buffer: state.buffer } },
  );
  worker.unref();
  return (line) => {
    Atomics.store(state, 0, 0);
    worker.postMessage(line);
    Atomics.wait(state, 0, 0, 120_000);
    if (Atomics.load(state, 0) !== 1) throw new Error(`could not deliver a Pipes message to ${shownUrl(url)}`);
  };
}

function channelSink(spec: string): Sink {
  if (isUrl(spec)) return httpSink(spec);
  if (spec.startsWith('fd:')) {
    const fd = Number(spec.slice(3));
    if (!Number.isInteger(fd) || fd < 0) throw new Error(`OUTPOST_PIPES_MESSAGES names no file descriptor: '${spec}'`);
    return (line) => writeAll(fd, line);
  }
  if (spec.startsWith('file:')) {
    const fd = openSync(spec.slice(5), 'a');
    return (line) => writeAll(fd, line);
  }
  throw new Error(`OUTPOST_PIPES_MESSAGES must be 'fd:<n>', 'file:<path>' or an http(s) URL, not '${spec}'`);
}

function errorOf(error: unknown): { type: string; message: string; traceback: string | null } {
  if (error instanceof Error) return { type: error.name, message: error.message, traceback: error.stack ?? null };
  return { type: typeof error, message: typeof error === 'string' ? error : String(JSON.stringify(error)), traceback: null };
}

/**
 * Opens the channel to the launcher named by `OUTPOST_PIPES_CONTEXT` and `OUTPOST_PIPES_MESSAGES`
 * and sends `opened`. Without `OUTPOST_PIPES_CONTEXT` (run outside Outpost) the client prints what
 * it would report to stderr, one line each starting with `outpost_pipes:`, so the program still
 * runs on its own. A program that ends without `close()` sends `closed` as it exits, with the
 * uncaught error that ended it, if one did.
 */
export function openPipes(env: NodeJS.ProcessEnv = process.env): PipesClient {
  const contextPath = env.OUTPOST_PIPES_CONTEXT;
  let context: PipesContext;
  let sink: Sink | null;
  let active: boolean;
  if (contextPath) {
    context = JSON.parse(isUrl(contextPath) ? fetchContext(contextPath) : readFileSync(contextPath, 'utf8')) as PipesContext;
    if (typeof context !== 'object' || context === null || context.protocol !== PIPES_PROTOCOL) {
      throw new Error(`the Pipes context at ${contextPath} is not protocol version ${PIPES_PROTOCOL}`);
    }
    sink = channelSink(env.OUTPOST_PIPES_MESSAGES ?? 'fd:3');
    active = true;
  } else {
    context = LOCAL_CONTEXT;
    sink = null;
    active = false;
  }
  let closed = false;

  const send = (method: string, params: Record<string, unknown>) => {
    if (closed) throw new Error(`the Pipes client is closed; '${method}' was not sent`);
    const line = `${JSON.stringify({ outpost_pipes: PIPES_PROTOCOL, method, params })}\n`;
    const size = Buffer.byteLength(line, 'utf8');
    if (size > MAX_LINE_BYTES) {
      throw new RangeError(`the '${method}' message is ${size} bytes, more than ${MAX_LINE_BYTES}; report a location, not data`);
    }
    if (sink) sink(line);
    else process.stderr.write(`outpost_pipes: ${describe(method, params)}\n`);
  };

  const logAt = (level: PipesLogLevel) => (message: unknown) => {
    let text =
      typeof message === 'string' ? message : message instanceof Error ? (message.stack ?? message.message) : String(message);
    if (text.length > MAX_LOG_CHARS) text = `${text.slice(0, MAX_LOG_CHARS)}… (truncated)`;
    send('log', { level, message: text });
  };

  const client: PipesClient = {
    active,
    context,
    extras: context.extras ?? {},
    log: { debug: logAt('debug'), info: logAt('info'), warning: logAt('warning'), error: logAt('error') },
    reportMetadata(values) {
      if (values === null || typeof values !== 'object' || Array.isArray(values)) {
        throw new TypeError('reportMetadata takes an object of JSON values');
      }
      send('metadata', { values });
    },
    reportCheck(name, outcome) {
      if (typeof outcome?.passed !== 'boolean') throw new TypeError(`reportCheck('${name}') needs { passed: boolean }`);
      send('check', { name, passed: outcome.passed, ...(outcome.metadata !== undefined ? { metadata: outcome.metadata } : {}) });
    },
    reportArtifact(artifact) {
      send('artifact', { ...artifact });
    },
    markdown(key, markdown, options) {
      client.reportArtifact({ type: 'markdown', key, markdown, ...options });
    },
    table(key, rows, options) {
      client.reportArtifact({ type: 'table', key, rows, ...options });
    },
    link(key, url, text, options) {
      client.reportArtifact({ type: 'link', key, url, text: text ?? null, ...options });
    },
    progress(key, fraction, options) {
      client.reportArtifact({ type: 'progress', key, progress: fraction, ...options });
    },
    reportResult(value) {
      send('result', { value: value === undefined ? null : value });
    },
    close(error) {
      if (closed) return;
      send('closed', error === undefined ? {} : { error: errorOf(error) });
      closed = true;
    },
  };
  send('opened', {});
  // A program that ends without close() still says so; an uncaught error becomes the failure's message.
  let uncaught: unknown;
  process.on('uncaughtExceptionMonitor', (error) => {
    uncaught ??= error;
  });
  process.once('exit', () => {
    if (closed) return;
    try {
      client.close(uncaught);
    } catch {
      // The launcher has gone; there is no one left to tell.
    }
  });
  return client;
}

/** Outside Outpost: one readable line per report. */
function describe(method: string, params: Record<string, unknown>): string {
  const json = (value: unknown) => JSON.stringify(value);
  switch (method) {
    case 'opened':
      return 'no OUTPOST_PIPES_CONTEXT in the environment, so reports are printed here';
    case 'log':
      return `[${String(params.level)}] ${String(params.message)}`;
    case 'metadata':
      return `metadata ${json(params.values)}`;
    case 'check':
      return `check ${String(params.name)} ${params.passed ? 'passed' : 'failed'}${params.metadata === undefined ? '' : ` ${json(params.metadata)}`}`;
    case 'artifact': {
      const { type, key, ...fields } = params;
      return `artifact ${String(type)} ${String(key)} ${json(fields)}`;
    }
    case 'result':
      return `result ${json(params.value)}`;
    case 'closed': {
      const error = params.error as { type: string; message: string } | undefined;
      return error ? `closed with error ${error.type}: ${error.message}` : 'closed';
    }
    default:
      return method;
  }
}

/**
 * Runs `fn` with an open client and closes it after: with the error when `fn` throws (which is
 * then thrown on), so the launcher's failure carries its message.
 * @example
 * await withPipes(async (pipes) => pipes.reportResult(await train(pipes.extras)));
 */
export async function withPipes<T>(fn: (pipes: PipesClient) => T | Promise<T>): Promise<T> {
  const pipes = openPipes();
  try {
    const value = await fn(pipes);
    pipes.close();
    return value;
  } catch (error) {
    pipes.close(error);
    throw error;
  }
}
