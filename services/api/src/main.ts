#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { startServer } from './server.js';

/** The environment, parsed once at boot. */
const Env = z.object({
  /** Postgres to use; an embedded Postgres under --data-dir when unset. */
  DATABASE_URL: z.string().min(1).optional(),
  /** pino level for the JSON logs on stdout. */
  OUTPOST_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Seconds a claim or heartbeat extends a lease; workers heartbeat well within it. */
  OUTPOST_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(30),
  /** Seconds past its scheduled time before an unclaimed run is marked Late. */
  OUTPOST_LATE_AFTER_SECONDS: z.coerce.number().int().min(1).max(86_400).default(15),
});

const USAGE = `Usage: outpost-api server start [--host 127.0.0.1] [--port 4200] [--data-dir .outpost/pg]

Environment:
  DATABASE_URL            Postgres connection URL (default: embedded Postgres in --data-dir)
  OUTPOST_LOG_LEVEL       fatal|error|warn|info|debug|trace|silent (default: info)
  OUTPOST_LEASE_SECONDS   lease length in seconds (default: 30)
  OUTPOST_LATE_AFTER_SECONDS  seconds before an unclaimed due run is Late (default: 15)
`;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseCommandLine(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
}

function fail(message: string): number {
  process.stderr.write(`${message}\n\n${USAGE}`);
  return 2;
}

/** `outpost-api server start`: runs the API until SIGINT or SIGTERM, then shuts down gracefully. */
export async function main(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    return fail((error as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (positionals.join(' ') !== 'server start') return fail(`unknown command: ${positionals.join(' ') || '(none)'}`);
  const port = values.port === undefined ? 4200 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail(`--port must be 0..65535, got ${values.port}`);
  const env = Env.safeParse(process.env);
  if (!env.success)
    return fail(`invalid environment: ${env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);

  const server = await startServer({
    databaseUrl: env.data.DATABASE_URL,
    dataDir: values['data-dir'],
    host: values.host,
    port,
    leaseSeconds: env.data.OUTPOST_LEASE_SECONDS,
    lateRuns: { lateAfterSeconds: env.data.OUTPOST_LATE_AFTER_SECONDS },
    logLevel: env.data.OUTPOST_LOG_LEVEL,
  });
  const { ownerKey } = await server.bootstrap();
  process.stdout.write(`Outpost API: ${server.url}\n`);
  if (ownerKey) process.stdout.write(`Owner API key (shown once, store it now): ${ownerKey}\n`);

  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      process.stdout.write(`${signal}: shutting down\n`);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

function invokedDirectly(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return import.meta.url === pathToFileURL(realpathSync(entry)).href;
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const cause = (error as Error).cause instanceof Error ? ` (${((error as Error).cause as Error).message})` : '';
      process.stderr.write(`outpost-api: ${error instanceof Error ? error.message : String(error)}${cause}\n`);
      process.exitCode = 1;
    },
  );
}
