import { join } from 'node:path';
import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { parseOptions } from '../../src/options.js';
import { startWorker, type WorkerHandle, type WorkerHooks } from '../../src/worker.js';

export interface TestWorkerOptions {
  /** The API the worker talks to (a real one or a fake), and the key it presents. */
  apiUrl: string;
  apiKey: string;
  /** A directory of the test's own: the worker's cache and spool, and the flows' HOME. */
  scratch: string;
  /** Flags after `--pool default`. */
  args?: string[];
  /** Worker variables over the defaults (the API, the cache and spool in `scratch`, lines sent every 50 ms). */
  vars?: Record<string, string>;
  /** The worker's environment over PATH and HOME (`scratch`): what secrets and flow variables come from. */
  env?: Record<string, string>;
  /** The hooks a test listens on (a finished run, a state change). */
  hooks?: Omit<WorkerHooks, 'logger' | 'env'>;
  /** Where the worker's log goes. @default silent, unless OUTPOST_TEST_LOG_LEVEL names a level */
  logger?: Logger;
}

/**
 * The variables `parseOptions` reads for a worker of the API at `apiUrl` with `apiKey`: a cache and
 * spool under `scratch`, log batches every 50 ms, and `extra` on top.
 */
export function testWorkerVars(
  apiUrl: string,
  apiKey: string,
  scratch: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    OUTPOST_API_URL: apiUrl,
    OUTPOST_API_KEY: apiKey,
    OUTPOST_WORKER_CACHE_DIR: join(scratch, 'cache'),
    OUTPOST_WORKER_SPOOL_DIR: join(scratch, 'spool'),
    OUTPOST_WORKER_LOG_BATCH_INTERVAL: '50ms',
    ...extra,
  };
}

/** Beats, polls and cancel grace short enough for a test to see a worker act within a second or two. */
export const QUICK_WORKER_ARGS = ['--heartbeat-interval', '300ms', '--poll-wait', '1s', '--cancel-grace', '1s'] as const;

/**
 * A real worker of the `default` pool as the suites start one, with everything it writes under
 * `scratch`.
 */
export function startTestWorker(options: TestWorkerOptions): Promise<WorkerHandle> {
  const { apiUrl, apiKey, scratch } = options;
  return startWorker(
    parseOptions(['--pool', 'default', ...(options.args ?? [])], testWorkerVars(apiUrl, apiKey, scratch, options.vars)),
    {
      ...options.hooks,
      logger: options.logger ?? pino({ level: process.env.OUTPOST_TEST_LOG_LEVEL ?? 'silent' }),
      env: { PATH: process.env.PATH ?? '', HOME: scratch, ...options.env },
    },
  );
}

/** A logger at `info` whose JSON lines the test reads back, parsed, in the order they were written. */
export function capturedLogger<Line = Record<string, unknown>>(): { logger: Logger; lines: Line[] } {
  const lines: Line[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Line);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}
