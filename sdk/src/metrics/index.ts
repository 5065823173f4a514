import { collectDefaultMetrics, Registry } from 'prom-client';

/*
 * What the API server and the worker both put into their Prometheus metrics. This entry point
 * imports `prom-client`, an optional peer of the SDK: the packages that expose metrics depend on it,
 * and a flow's code, which never imports this entry, does not pay for it.
 */

let processRegistry: Registry | null = null;

/**
 * CPU, memory, heap, event-loop delay, GC and handle metrics of this Node process, in a registry of
 * their own made once per process. They describe the process, not one server or worker in it, and
 * prom-client starts an event-loop delay histogram and a GC observer for them that it offers no way
 * to stop: made per server, every server started in a test process would leave one of each behind.
 * Neither keeps the process alive: a process that only collects them exits at once, and the lag
 * gauge waits a single setImmediate while a scrape is answered.
 *
 * Their CPU counters count from when they are made, so a first scrape soon after would read the
 * CPU of the last few milliseconds, often 0: call this when the server or worker starts.
 */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Histogram buckets, in seconds, for a call that may long-poll for up to a minute, as a claim does. */
export const SECONDS_LONG_POLL = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
