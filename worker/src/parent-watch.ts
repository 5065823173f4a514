import { Worker } from 'node:worker_threads';

/*
 * Loaded into every flow process with `node --import`: if the worker that started it dies (kill -9,
 * OOM killer), the flow process and its whole process group are killed too. The runner already
 * exits when its IPC channel closes, but only when its event loop gets to run: flow code that is
 * busy computing would go on — and finish its side effects — alongside the retry the API starts
 * once the lease expires. A watchdog thread has an event loop of its own, so it notices regardless.
 */

const WATCH = `
const { workerData } = require('node:worker_threads');
setInterval(() => {
  if (process.ppid === workerData.parent) return;
  try { process.kill(-workerData.pid, 'SIGKILL'); } catch {}
  process.kill(workerData.pid, 'SIGKILL');
}, workerData.everyMs);
`;

/** Only in a process the worker started (it has an IPC channel); importing it elsewhere does nothing. */
if (typeof process.send === 'function') {
  // The parent is read here, at once: the thread may start only after the worker is already gone.
  const watchdog = new Worker(WATCH, { eval: true, workerData: { pid: process.pid, parent: process.ppid, everyMs: 250 } });
  // The watchdog never keeps a finished flow process alive.
  watchdog.unref();
}
