/** This package's version, as the worker reports it (heartbeat, user agent, metrics). */
export const WORKER_VERSION = '0.1.0';
