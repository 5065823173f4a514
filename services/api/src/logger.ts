import { type Logger, pino } from 'pino';

export type { Logger };

/** Structured JSON logs. Credentials never reach a log line: request logging names no headers but the request id. */
export function createLogger(level = 'info'): Logger {
  return pino({
    level,
    base: { service: 'outpost-api' },
    redact: { paths: ['authorization', 'token', 'key', '*.authorization', '*.token', '*.key'], censor: '[redacted]' },
  });
}
