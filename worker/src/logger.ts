import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

/**
 * The worker's own structured log on stdout: pino JSON for log collectors, or readable lines for a
 * person at a terminal (`auto`: readable when stdout is a terminal). Credentials are never passed
 * to it; the redact paths are a second line of defence should an object carrying one be logged by
 * mistake, and apply to both formats.
 */
export function createLogger(level: string, format: 'auto' | 'pretty' | 'json' = 'json'): Logger {
  const readable = format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true);
  const options = {
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
  };
  if (!readable) return pino(options);
  return pino(
    options,
    pretty({
      sync: true,
      colorize: process.stdout.isTTY === true,
      translateTime: 'SYS:HH:MM:ss',
      singleLine: true,
      ignore: 'pid,hostname,service,workerId,pool',
    }),
  );
}
