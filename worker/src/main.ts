#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createLogger } from './logger.js';
import { OPTIONS_HELP, OptionsError, parseOptions } from './options.js';
import { startWorker, type WorkerHandle, WorkerStartError } from './worker.js';

/**
 * `outpost worker start --pool <name> [options]`.
 * SIGINT/SIGTERM drain the worker; a second signal stops the remaining runs at once.
 * Resolves to the process exit code.
 */
export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h' || rest.includes('--help')) {
    process.stdout.write(`${OPTIONS_HELP}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command !== 'start') {
    process.stderr.write(`error: unknown command "${command}"\n\n${OPTIONS_HELP}\n`);
    return 2;
  }
  let options: ReturnType<typeof parseOptions>;
  try {
    options = parseOptions(rest, process.env);
  } catch (error) {
    if (!(error instanceof OptionsError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return 2;
  }
  const logger = createLogger(options.logLevel, options.logFormat);
  const aborted = new AbortController();
  let handle: WorkerHandle | null = null;
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    logger.info({ signal }, signals === 1 ? 'draining: no new runs, running ones may finish' : 'stopping every run now');
    if (!handle) aborted.abort();
    else void handle.stop(signals === 1 ? {} : { graceMs: 0 });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    try {
      handle = await startWorker(options, { logger, signal: aborted.signal });
    } catch (error) {
      if (aborted.signal.aborted) return 0;
      if (error instanceof WorkerStartError) {
        process.stderr.write(`error: ${error.message}${error.hint ? ` — ${error.hint}` : ''}\n`);
        return 1;
      }
      logger.fatal({ err: error }, 'worker could not start');
      return 1;
    }
    await handle.done;
    return handle.state === 'failed' ? 1 : 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
