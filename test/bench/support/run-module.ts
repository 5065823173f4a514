import { pathToFileURL } from 'node:url';
import type { Row } from './row.js';

/**
 * Child side of the benchmark runner: loads one module, tells the runner its time limit, runs it
 * and sends back its rows. One process per module, so a module that leaks a handle or overruns
 * its limit can be killed without taking the rest of the suite with it.
 */
type Message =
  | { type: 'start'; timeoutSeconds: number | null }
  | { type: 'skip'; reason: string }
  | { type: 'rows'; rows: Row[]; notes: string | null }
  | { type: 'error'; message: string };

function send(message: Message): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send) return reject(new Error('run-module.ts is started by bench/run.ts, with an IPC channel'));
    process.send(message, (error: Error | null) => (error ? reject(error) : resolve()));
  });
}

const file = process.argv[2];
if (!file) throw new Error('usage: run-module.ts <module file>');

try {
  const mod = (await import(pathToFileURL(file).href)) as {
    run?: unknown;
    timeoutSeconds?: unknown;
    notes?: unknown;
  };
  if (typeof mod.run !== 'function') {
    await send({ type: 'skip', reason: 'exports no run()' });
  } else {
    await send({ type: 'start', timeoutSeconds: typeof mod.timeoutSeconds === 'number' ? mod.timeoutSeconds : null });
    const rows = (await (mod.run as () => Promise<Row[]>)()) ?? [];
    await send({ type: 'rows', rows, notes: typeof mod.notes === 'string' ? mod.notes : null });
  }
} catch (error) {
  await send({ type: 'error', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  process.exitCode = 1;
}
// A module that leaves a timer or socket open must not hold the suite; its work is done.
process.disconnect?.();
setTimeout(() => {
  process.stderr.write(`bench: ${file} left handles open after it finished; exiting anyway\n`);
  process.exit();
}, 2000).unref();
