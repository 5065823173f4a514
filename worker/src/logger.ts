import { type Logger, pino } from 'pino';

/**
 * The worker's own structured log (JSON lines on stdout). Credentials are never passed to it; the
 * redact paths are a second line of defence should an object carrying one be logged by mistake.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'outpost-worker', pid: process.pid },
    redact: {
      paths: [
        'token',
        '*.token',
        'apiKey',
        '*.apiKey',
        'authorization',
        '*.authorization',
        'headers.authorization',
        'password',
        '*.password',
      ],
      censor: '***',
    },
  });
}
