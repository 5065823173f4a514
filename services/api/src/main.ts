#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_EVENT_RETENTION_DAYS, DEFAULT_LEASE_SECONDS, DEFAULT_PORT } from '@outpost/sdk/contracts';
import { z } from 'zod';
import { DEFAULT_PUBLISH_SECONDS, rotateSigningKey } from './auth/signing-keys.js';
import { connectDatabase } from './db/client.js';
import { SecretBox } from './db/secret-box.js';
import { METRICS_TOKEN_PATTERN } from './http/metrics-handlers.js';
import { DEFAULT_HTTP_LIMITS } from './http/server-limits.js';
import { DEFAULT_LATE_AFTER_SECONDS } from './loops/late-runs.js';
import { ACCOUNT_USAGE, accountCommand } from './operator/account-commands.js';
import { QUOTA_USAGE, quotaCommand } from './quotas/operator-command.js';
import { startServer } from './server.js';
import { isStartupError } from './startup-error.js';

const perMinute = z.coerce.number().int().min(1).max(10_000_000).optional();
const seconds = (max: number) => z.coerce.number().int().min(1).max(max).optional();

/** The environment, parsed once at boot. */
const EnvFields = z.object({
  /** Postgres to use; an embedded Postgres under --data-dir when unset. */
  DATABASE_URL: z.string().min(1).optional(),
  /** pino level for the JSON logs on stdout. */
  OUTPOST_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Seconds a claim or heartbeat extends a lease; workers heartbeat well within it. */
  OUTPOST_LEASE_SECONDS: z.coerce.number().int().min(5).max(3600).default(DEFAULT_LEASE_SECONDS),
  /** Address to listen on when --host is not given (containers are configured by environment). */
  OUTPOST_HOST: z.string().min(1).optional(),
  /** Port to listen on when --port is not given; PORT (as platforms set it) when this is unset. */
  OUTPOST_PORT: z.string().optional(),
  PORT: z.string().optional(),
  /** Seconds held leases get to be renewed after the control plane was away, before any expires; default the lease length. */
  OUTPOST_LEASE_GRACE_SECONDS: z.coerce.number().int().min(0).max(86_400).optional(),
  /** Seconds past its scheduled time before an unclaimed run is marked Late. */
  OUTPOST_LATE_AFTER_SECONDS: z.coerce.number().int().min(1).max(86_400).default(DEFAULT_LATE_AFTER_SECONDS),
  /** Days a run's log lines are kept after the run ended; unset keeps them forever. */
  OUTPOST_LOG_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  OUTPOST_EVENT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  OUTPOST_TASK_RUN_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).optional(),
  /** The origin browsers reach the API at (behind a proxy); single sign-on redirect URIs are made from it. */
  OUTPOST_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
  /**
   * Seals the run-token signing keys and OIDC client secrets stored in the database (at least 32
   * characters); without it the signing keys are stored unsealed and only public OIDC clients work.
   */
  OUTPOST_SECRET_KEY: z.string().min(32).optional(),
  /** The bearer token Prometheus sends to scrape /metrics (32+ visible characters); unset, /metrics is not served. */
  OUTPOST_METRICS_TOKEN: z.string().regex(METRICS_TOKEN_PATTERN, 'must be 32 or more visible ASCII characters').optional(),
  /** Reverse proxies in front of the API whose X-Forwarded-For entries are believed. */
  OUTPOST_TRUSTED_PROXY_HOPS: z.coerce.number().int().min(0).max(10).default(0),
  /** Requests a minute per API key or session, and per workspace (people and automation). */
  OUTPOST_RATE_LIMIT_KEY_PER_MINUTE: perMinute,
  OUTPOST_RATE_LIMIT_WORKSPACE_PER_MINUTE: perMinute,
  /** Requests a minute per worker key or run, and per workspace (workers and runs). */
  OUTPOST_RATE_LIMIT_RUNTIME_KEY_PER_MINUTE: perMinute,
  OUTPOST_RATE_LIMIT_RUNTIME_WORKSPACE_PER_MINUTE: perMinute,
  /** Batched items (task-run events, log lines, state proposals) a minute per worker key or run, and per workspace. */
  OUTPOST_RATE_LIMIT_RUNTIME_ITEMS_PER_MINUTE: perMinute,
  OUTPOST_RATE_LIMIT_RUNTIME_WORKSPACE_ITEMS_PER_MINUTE: perMinute,
  /** Requests a minute per client address without a credential (sign-in, single sign-on, failed authentications). */
  OUTPOST_RATE_LIMIT_ANONYMOUS_PER_MINUTE: perMinute,
  /** JWKS fetches a minute per client address, in a bucket of their own so they and sign-in cannot starve each other. */
  OUTPOST_RATE_LIMIT_JWKS_PER_MINUTE: perMinute,
  /**
   * The mail server invitation and address-confirmation links go out through:
   * `smtp://user:pass@host:587` (STARTTLS when the server offers it) or `smtps://user:pass@host:465`.
   * Unset, no mail is sent: an admin adding a new person hands over the setup link, and address
   * confirmation and password reset links are printed to the server's log instead. Organisation
   * powers need a confirmed address: an emailed link or single sign-on confirms one, and so does the
   * operator (`outpost server users verify-email`, `outpost server organisations set-owner --confirm-email`).
   */
  OUTPOST_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  /** The sender of that mail, e.g. `Outpost <outpost@example.com>`; required with OUTPOST_SMTP_URL. */
  OUTPOST_MAIL_FROM: z.string().min(3).max(320).optional(),
  /** `1` lets notification webhooks reach private and loopback addresses (self-hosted setups); refused by default. */
  OUTPOST_NOTIFY_ALLOW_PRIVATE_NETWORKS: z.enum(['0', '1']).optional(),
  /** Milliseconds one evaluation of a tenant's CEL expression or template may take. */
  OUTPOST_CEL_TIMEOUT_MS: z.coerce.number().int().min(5).max(10_000).optional(),
  /** Threads that evaluate tenants' CEL, off the event loop that answers requests. */
  OUTPOST_CEL_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /** Seconds a client has to send a request's headers; slowloris connections are cut here (default 20). */
  OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS: seconds(3600),
  /** Seconds a client has to send a whole request, body included; answering may take longer (default 120). */
  OUTPOST_HTTP_REQUEST_TIMEOUT_SECONDS: seconds(86_400),
  /** Seconds an idle kept-alive connection stays open; keep it above the load balancer's idle timeout (default 65). */
  OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: seconds(3600),
  /** Requests served at once per process; idle connections beyond it are closed; lowered to fit `ulimit -n` (default 10000). */
  OUTPOST_HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).optional(),
});

// Node refuses a headers timeout longer than the request timeout; say so in the variables' terms.
const Env = EnvFields.refine(
  (env) =>
    (env.OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS ?? DEFAULT_HTTP_LIMITS.headersTimeoutMs / 1000) <=
    (env.OUTPOST_HTTP_REQUEST_TIMEOUT_SECONDS ?? DEFAULT_HTTP_LIMITS.requestTimeoutMs / 1000),
  {
    path: ['OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS'],
    message: 'must not exceed OUTPOST_HTTP_REQUEST_TIMEOUT_SECONDS (the headers are part of the request)',
  },
).refine((env) => (env.OUTPOST_SMTP_URL === undefined) === (env.OUTPOST_MAIL_FROM === undefined), {
  message: 'set OUTPOST_SMTP_URL and OUTPOST_MAIL_FROM together, or neither',
  path: ['OUTPOST_MAIL_FROM'],
});

const USAGE = `Usage: outpost server start [--host 127.0.0.1] [--port ${DEFAULT_PORT}] [--data-dir .outpost/pg]
       outpost server signing-keys rotate [--publish-seconds 900]   (needs DATABASE_URL)
       ${QUOTA_USAGE}
       ${ACCOUNT_USAGE}

Environment:
  DATABASE_URL            Postgres connection URL (default: embedded Postgres in --data-dir)
  OUTPOST_HOST            address to listen on when --host is not given (default: 127.0.0.1)
  OUTPOST_PORT, PORT      port to listen on when --port is not given, in that order (default: ${DEFAULT_PORT})
  OUTPOST_LOG_LEVEL       fatal|error|warn|info|debug|trace|silent (default: info)
  OUTPOST_LEASE_SECONDS   lease length in seconds (default: ${DEFAULT_LEASE_SECONDS})
  OUTPOST_LEASE_GRACE_SECONDS  after an outage of the API or its database, seconds workers get to renew
                          their leases before any expires (default: the lease length; 0: none)
  OUTPOST_LATE_AFTER_SECONDS  seconds before an unclaimed due run is Late (default: ${DEFAULT_LATE_AFTER_SECONDS})
  OUTPOST_LOG_RETENTION_DAYS  days a log line is kept; lines go a month at a time (default: forever)
  OUTPOST_EVENT_RETENTION_DAYS  days events of the ledger are kept; events go a month at a time (default: ${DEFAULT_EVENT_RETENTION_DAYS})
  OUTPOST_TASK_RUN_RETENTION_DAYS  days a task run is kept; task runs go a month at a time, their runs stay (default: forever)
  OUTPOST_PUBLIC_URL      origin browsers use, e.g. https://outpost.example.com (default: the listening address)
  OUTPOST_SECRET_KEY      32+ characters; seals run-token signing keys and OIDC client secrets in the database
  OUTPOST_METRICS_TOKEN   32+ characters; bearer token that opens /metrics (default: /metrics not served)
  OUTPOST_TRUSTED_PROXY_HOPS  reverse proxies whose X-Forwarded-For is believed (default: 0)
  OUTPOST_SMTP_URL        smtp://user:pass@host:587 or smtps://…:465; sends invitation, address confirmation and
                          password reset links (unset: those links are printed to this server's log instead).
                          Organisation powers need a confirmed address: an emailed link or single sign-on gives
                          one, or the operator with \`outpost server users verify-email <address>\` or
                          \`outpost server organisations set-owner <org> <address> --confirm-email\`
  OUTPOST_MAIL_FROM       sender of that mail, e.g. "Outpost <outpost@example.com>" (with OUTPOST_SMTP_URL)
  OUTPOST_NOTIFY_ALLOW_PRIVATE_NETWORKS  1: notification webhooks may reach private and loopback addresses
  OUTPOST_CEL_TIMEOUT_MS  milliseconds of CPU time one evaluation of a tenant's CEL may take (default: 50)
  OUTPOST_CEL_THREADS     threads evaluating tenants' CEL off the request path (default: 2)
  OUTPOST_RATE_LIMIT_KEY_PER_MINUTE / _WORKSPACE_PER_MINUTE                 (default: 1250 / 5000)
  OUTPOST_RATE_LIMIT_RUNTIME_KEY_PER_MINUTE / _RUNTIME_WORKSPACE_PER_MINUTE (default: 3000 / 60000)
  OUTPOST_RATE_LIMIT_RUNTIME_ITEMS_PER_MINUTE / _RUNTIME_WORKSPACE_ITEMS_PER_MINUTE
                          items of batches (task-run events, log lines)    (default: 1200000 / 12000000)
  OUTPOST_RATE_LIMIT_ANONYMOUS_PER_MINUTE / _JWKS_PER_MINUTE                (default: 300 / 300)
    Limits are per API process: with N replicas a client may reach N times them.
  OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS     time a client has to send its headers (default: 20)
  OUTPOST_HTTP_REQUEST_TIMEOUT_SECONDS     time a client has to send a whole request (default: 120)
  OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS  idle time before a kept-alive connection closes (default: 65)
  OUTPOST_HTTP_MAX_CONNECTIONS             requests served at once per process; idle connections
                                           beyond it are closed (default: 10000, lowered to fit ulimit -n)
`;

const OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  'data-dir': { type: 'string' },
  'publish-seconds': { type: 'string' },
  'confirm-email': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

function parseCommandLine(argv: string[]) {
  return parseArgs({ args: argv, allowPositionals: true, options: OPTIONS });
}

function fail(message: string): number {
  // parseArgs adds advice for programmers ("To specify a positional argument…"); the first sentence is the error.
  const first = message.split('. ')[0]!.replace(/\.$/, '');
  process.stderr.write(`error: ${first}\n\n${USAGE}`);
  return 2;
}

/** `outpost server start`: runs the API until SIGINT or SIGTERM, then shuts down gracefully. */
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
  const command = positionals.join(' ');
  const env = Env.safeParse(process.env);
  if (!env.success) {
    const issues = env.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    process.stderr.write(
      `error: invalid environment: ${issues} — fix the variable (\`outpost server start --help\` lists them)\n`,
    );
    return 2;
  }
  if (command === 'signing-keys rotate' || command === 'server signing-keys rotate')
    return rotate(env.data.DATABASE_URL, values['publish-seconds'], env.data.OUTPOST_SECRET_KEY);
  const quota = positionals[0] === 'server' ? positionals.slice(1) : positionals;
  if (quota[0] === 'quota') {
    return quotaCommand(env.data.DATABASE_URL, quota.slice(1), { out: (line) => process.stdout.write(`${line}\n`), fail });
  }
  if (quota[0] === 'users' || quota[0] === 'organisations') {
    return accountCommand(
      env.data.DATABASE_URL,
      quota[0],
      quota.slice(1),
      { confirmEmail: values['confirm-email'] === true },
      { out: (line) => process.stdout.write(`${line}\n`), fail },
    );
  }
  if (values['confirm-email']) return fail('--confirm-email goes with organisations set-owner');
  if (command !== 'server start') return fail(`unknown command: ${command || '(none)'}`);
  const [portSource, portText] =
    values.port !== undefined
      ? ['--port', values.port]
      : env.data.OUTPOST_PORT !== undefined
        ? ['OUTPOST_PORT', env.data.OUTPOST_PORT]
        : env.data.PORT !== undefined
          ? ['PORT', env.data.PORT]
          : ['--port', String(DEFAULT_PORT)];
  const port = /^\d+$/.test(portText.trim()) ? Number(portText) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    if (portSource === '--port') return fail(`--port must be 0..65535, got ${portText}`);
    process.stderr.write(
      `error: ${portSource} must be a port from 0 to 65535, got "${portText}" — set it to the port to listen on\n`,
    );
    return 2;
  }

  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({
      databaseUrl: env.data.DATABASE_URL,
      dataDir: values['data-dir'],
      host: values.host ?? env.data.OUTPOST_HOST,
      port,
      leaseSeconds: env.data.OUTPOST_LEASE_SECONDS,
      ...(env.data.OUTPOST_LEASE_GRACE_SECONDS === undefined
        ? {}
        : { leaseExpiry: { graceSeconds: env.data.OUTPOST_LEASE_GRACE_SECONDS } }),
      lateRuns: { lateAfterSeconds: env.data.OUTPOST_LATE_AFTER_SECONDS },
      retention: {
        logRetentionDays: env.data.OUTPOST_LOG_RETENTION_DAYS ?? null,
        eventRetentionDays: env.data.OUTPOST_EVENT_RETENTION_DAYS ?? DEFAULT_EVENT_RETENTION_DAYS,
        taskRunRetentionDays: env.data.OUTPOST_TASK_RUN_RETENTION_DAYS ?? null,
      },
      logLevel: env.data.OUTPOST_LOG_LEVEL,
      publicUrl: env.data.OUTPOST_PUBLIC_URL,
      secretKey: env.data.OUTPOST_SECRET_KEY,
      metricsToken: env.data.OUTPOST_METRICS_TOKEN,
      trustedProxyHops: env.data.OUTPOST_TRUSTED_PROXY_HOPS,
      cel: definedOnly({ timeoutMs: env.data.OUTPOST_CEL_TIMEOUT_MS, threads: env.data.OUTPOST_CEL_THREADS }),
      http: definedOnly({
        headersTimeoutMs: milliseconds(env.data.OUTPOST_HTTP_HEADERS_TIMEOUT_SECONDS),
        requestTimeoutMs: milliseconds(env.data.OUTPOST_HTTP_REQUEST_TIMEOUT_SECONDS),
        keepAliveTimeoutMs: milliseconds(env.data.OUTPOST_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS),
        maxConnections: env.data.OUTPOST_HTTP_MAX_CONNECTIONS,
      }),
      mail:
        env.data.OUTPOST_SMTP_URL && env.data.OUTPOST_MAIL_FROM
          ? { smtpUrl: env.data.OUTPOST_SMTP_URL, from: env.data.OUTPOST_MAIL_FROM }
          : undefined,
      notifications: { allowPrivateNetworks: env.data.OUTPOST_NOTIFY_ALLOW_PRIVATE_NETWORKS === '1' },
      rateLimits: definedOnly({
        keyPerMinute: env.data.OUTPOST_RATE_LIMIT_KEY_PER_MINUTE,
        workspacePerMinute: env.data.OUTPOST_RATE_LIMIT_WORKSPACE_PER_MINUTE,
        runtimeKeyPerMinute: env.data.OUTPOST_RATE_LIMIT_RUNTIME_KEY_PER_MINUTE,
        runtimeWorkspacePerMinute: env.data.OUTPOST_RATE_LIMIT_RUNTIME_WORKSPACE_PER_MINUTE,
        runtimeItemsPerMinute: env.data.OUTPOST_RATE_LIMIT_RUNTIME_ITEMS_PER_MINUTE,
        runtimeWorkspaceItemsPerMinute: env.data.OUTPOST_RATE_LIMIT_RUNTIME_WORKSPACE_ITEMS_PER_MINUTE,
        anonymousPerMinute: env.data.OUTPOST_RATE_LIMIT_ANONYMOUS_PER_MINUTE,
        jwksPerMinute: env.data.OUTPOST_RATE_LIMIT_JWKS_PER_MINUTE,
      }),
    });
  } catch (error) {
    if (!isStartupError(error)) throw error;
    process.stderr.write(`error: ${error.line()}\n`);
    return 1;
  }
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

function milliseconds(seconds: number | undefined): number | undefined {
  return seconds === undefined ? undefined : seconds * 1000;
}

function definedOnly<T extends Record<string, number | undefined>>(values: T): Partial<Record<keyof T, number>> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<Record<keyof T, number>>;
}

/**
 * `outpost server signing-keys rotate`: adds a run-token signing key that every replica publishes at
 * once and signs with only after `--publish-seconds`; replicas pick it up without a restart.
 */
async function rotate(
  databaseUrl: string | undefined,
  publish: string | undefined,
  secretKey: string | undefined,
): Promise<number> {
  if (!databaseUrl) return fail('signing-keys rotate needs DATABASE_URL (the database the API servers use)');
  const publishSeconds = publish === undefined ? DEFAULT_PUBLISH_SECONDS : Number(publish);
  if (!Number.isInteger(publishSeconds) || publishSeconds < 0)
    return fail(`--publish-seconds must be a whole number ≥ 0, got ${publish}`);
  const sql = await connectDatabase(databaseUrl, { max: 1, applicationName: 'outpost-rotate' });
  try {
    let rotated: Awaited<ReturnType<typeof rotateSigningKey>>;
    try {
      rotated = await rotateSigningKey(sql, { publishSeconds, secretBox: secretKey ? new SecretBox(secretKey) : null });
    } catch (error) {
      if (!isStartupError(error)) throw error;
      process.stderr.write(`error: ${error.line()}\n`);
      return 1;
    }
    const { kid, activatesAt, retired } = rotated;
    process.stdout.write(`New signing key ${kid}: published now, signs from ${activatesAt.toISOString()}\n`);
    if (retired.length > 0) process.stdout.write(`Retired (verify one more day): ${retired.join(', ')}\n`);
    return 0;
  } finally {
    await sql.end({ timeout: 5 });
  }
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
      if (isStartupError(error)) {
        process.stderr.write(`error: ${error.line()}\n`);
        process.exitCode = 1;
        return;
      }
      const cause = (error as Error).cause instanceof Error ? ` (${((error as Error).cause as Error).message})` : '';
      process.stderr.write(`outpost server: ${error instanceof Error ? error.message : String(error)}${cause}\n`);
      process.exitCode = 1;
    },
  );
}
