import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_LEASE_SECONDS, DEFAULT_PORT } from '@outpost/sdk/contracts';
import type { Hono } from 'hono';
import { createApp } from './app.js';
import { ApiKeyCache } from './auth/db/api-keys.js';
import { DEFAULT_SCRYPT, type ScryptParams } from './auth/passwords.js';
import { RunTokens } from './auth/run-tokens.js';
import { type CelSandboxOptions, celSandbox, configureCelSandbox } from './cel/sandbox.js';
import type { AppDeps } from './context.js';
import { connectDatabase, type Sql } from './db/client.js';
import { assertDatabaseUrl, connectFailure } from './db/connect-errors.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './db/embedded.js';
import { migrateDatabase } from './db/migrate.js';
import { ensurePartitions } from './db/partitions.js';
import { SecretBox } from './db/secret-box.js';
import { type BulkReadLimits, BulkReads } from './http/bulk-reads.js';
import type { AppEnv } from './http/env.js';
import { createHttpServer } from './http/http-server.js';
import { metricsTokenDigest } from './http/metrics-handlers.js';
import { RateLimiter, type RateLimitSettings } from './http/rate-limit.js';
import { type HttpLimits, resolveHttpLimits } from './http/server-limits.js';
import { bootstrapDefaults } from './identity/bootstrap.js';
import { DomainRecords } from './identity/domain-records.js';
import { OidcRelyingParty } from './identity/oidc.js';
import { createLogger, type Logger } from './logger.js';
import { AssetAutomationLoop, type AssetAutomationLoopOptions } from './loops/asset-automation.js';
import { AutomationLoop, type AutomationLoopOptions } from './loops/automations.js';
import { BackfillLoop, type BackfillLoopOptions } from './loops/backfills.js';
import type { BackgroundLoop } from './loops/elected-loop.js';
import { LateRunsLoop, type LateRunsOptions } from './loops/late-runs.js';
import { LeaseExpiryLoop, type LeaseExpiryOptions } from './loops/lease-expiry.js';
import { NotificationLoop, type NotificationLoopOptions } from './loops/notifications.js';
import { RetentionLoop, type RetentionOptions } from './loops/retention.js';
import { SchedulerLoop, type SchedulerOptions } from './loops/scheduler.js';
import { WaitsLoop, type WaitsLoopOptions } from './loops/waits.js';
import { WorkerStatusLoop, type WorkerStatusLoopOptions } from './loops/worker-status.js';
import { LINKS_PRINTED_NOTICE } from './mail/link-delivery.js';
import { Mailer, type MailSettings } from './mail/mailer.js';
import { ApiMetrics } from './metrics/api-metrics.js';
import { poolRunCounts } from './pools/db/pool-run-counts.js';
import { IdleWorkers } from './runs/claim-runs.js';
import { LimitedPools } from './runs/db/claim.js';
import { WorkerRows } from './runs/db/workers.js';
import { RunNotifier } from './runs/run-notifier.js';
import { StartupError } from './startup-error.js';
import { startApiTracing } from './telemetry/tracing.js';

export interface ServerOptions {
  /** Postgres to use; `DATABASE_URL` when absent, and an embedded Postgres when neither is set. */
  databaseUrl?: string;
  /**
   * An open connection pool to `databaseUrl`, used instead of opening one and left open on close:
   * two servers in one process (replicas in a test) may share one. Needs `databaseUrl`.
   */
  sql?: Sql;
  /** Data directory of the embedded Postgres. @default '.outpost/pg' */
  dataDir?: string;
  /** @default '127.0.0.1' */
  host?: string;
  /** 0 picks a free port. @default DEFAULT_PORT */
  port?: number;
  /** How long a claim or heartbeat extends a lease. @default DEFAULT_LEASE_SECONDS */
  leaseSeconds?: number;
  /** pino level. @default 'info' */
  logLevel?: string;
  /** Run the background loops (lease expiry, scheduler, late runs, retention, backfills). @default true */
  loops?: boolean;
  /** Options of the lease-expiry loop (intervals, batch size). */
  leaseExpiry?: LeaseExpiryOptions;
  /** Options of the scheduler loop (intervals, batch size, how far ahead). */
  scheduler?: SchedulerOptions;
  /** Options of the late-runs loop (how late is Late, intervals, batch size). */
  lateRuns?: LateRunsOptions;
  /** Options of the retention loop (log retention, how long sign-in artefacts outlive their end). */
  retention?: RetentionOptions;
  /** Options of the backfill loop (intervals, batch size). */
  backfills?: BackfillLoopOptions;
  /** The durable waits loop (timers, event matching). */
  waits?: WaitsLoopOptions;
  /** Options of the automations loop (intervals, batch size). */
  automations?: AutomationLoopOptions;
  /** Options of the asset automation loop (intervals, runs requested per pass). */
  assetAutomation?: AssetAutomationLoopOptions;
  /** Use this logger instead of creating one. */
  logger?: Logger;
  /** Check responses against their contracts. @default true unless NODE_ENV is 'production' */
  validateResponses?: boolean;
  /** How long close() waits for in-flight requests before cutting connections. @default 10000 */
  drainMs?: number;
  /** Timeouts for slow clients and the cap on connections (see http/server-limits.ts for the defaults). */
  http?: Partial<HttpLimits>;
  /** The built dashboard to serve at `/`; null serves none. @default the @outpost/dashboard package's dist */
  dashboardDir?: string | null;
  /** Request limits per credential, workspace and client address (see http/rate-limit.ts for the defaults). */
  rateLimits?: Partial<RateLimitSettings>;
  /** Places and share of long reads (the organisation's audit export); DEFAULT_BULK_READ_LIMITS otherwise. */
  bulkReads?: Partial<BulkReadLimits>;
  /** Reverse proxies in front of the API whose X-Forwarded-For entries are believed. @default 0 */
  trustedProxyHops?: number;
  /** The origin browsers reach the API at; single sign-on redirect URIs are made from it. @default the server's own URL */
  publicUrl?: string;
  /** OUTPOST_SECRET_KEY: encrypts stored OIDC client secrets; without it only public OIDC clients can be configured. */
  secretKey?: string;
  /** Accept `http://` OIDC issuers on loopback addresses (development and tests only). @default false */
  allowLoopbackOidc?: boolean;
  /** Name servers (`host:port`) for the TXT records that prove single sign-on domains; the system's when absent. */
  dnsServers?: string[];
  /** scrypt parameters of new password hashes. @default N=2^15, r=8, p=3 */
  passwordParams?: ScryptParams;
  /** OUTPOST_METRICS_TOKEN (32+ characters): the bearer token `/metrics` asks for; without it `/metrics` is not served. */
  metricsToken?: string;
  /** The mail server invitation and verification links go out through; without it none is sent. */
  mail?: MailSettings;
  /** Options of the notification delivery loop (attempts, backoff, whether URLs may reach private networks). */
  notifications?: NotificationLoopOptions;
  /** Options of the loop that announces workers and pools going online and offline as events. */
  workerStatus?: WorkerStatusLoopOptions;
  /** The CEL sandbox: threads, the deadline of one evaluation, each thread's heap (cel/sandbox.ts for the defaults). */
  cel?: Partial<CelSandboxOptions>;
}

export interface RunningServer {
  url: string;
  port: number;
  /** The hono app, for `app.request()` in tests. */
  app: Hono<AppEnv>;
  sql: Sql;
  /** The database URL in use (the embedded one when no URL was given). */
  databaseUrl: string;
  /** Ensures workspace `default` and pool `default`, and creates an owner key only when the workspace has none. */
  bootstrap(): Promise<{ workspaceId: string; ownerKey: string | null }>;
  /** Graceful: stop accepting, end long-polls, finish in-flight requests, stop loops, close pools, stop embedded Postgres. */
  close(): Promise<void>;
}

type Cleanup = () => Promise<void>;

async function runCleanups(cleanups: Cleanup[], logger: Logger): Promise<void> {
  for (const cleanup of cleanups.reverse()) {
    try {
      await cleanup();
    } catch (error) {
      logger.error({ err: error }, 'shutdown step failed');
    }
  }
}

function listen(server: Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** A port that cannot be listened on, as one line a person can act on. */
function listenFailure(error: unknown, host: string, port: number): unknown {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'EADDRINUSE':
      return new StartupError(
        `port ${port} on ${host} is in use (is another Outpost server running?)`,
        'stop it, or pass --port <port>',
        {
          cause: error,
        },
      );
    case 'EACCES':
      return new StartupError(`this user may not listen on port ${port}`, 'pass --port with a port above 1023', { cause: error });
    case 'EADDRNOTAVAIL':
      return new StartupError(`${host} is not an address of this machine`, 'pass --host with one of its addresses', {
        cause: error,
      });
    default:
      return error;
  }
}

/** Starts the control plane: database (embedded if needed), migrations, HTTP server and loops. */
export async function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info');
  const host = options.host ?? '127.0.0.1';
  const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
  const leaseGraceSeconds = options.leaseExpiry?.graceSeconds ?? leaseSeconds;
  const cleanups: Cleanup[] = [];
  // Checked before anything starts, so a bad token stops the server before Postgres does.
  const metricsToken = options.metricsToken === undefined ? null : metricsTokenDigest(options.metricsToken);
  const httpLimits = resolveHttpLimits(options.http);
  try {
    // First in, last out: spans of the shutdown itself are exported too.
    const tracing = await startApiTracing(logger);
    if (tracing) cleanups.push(() => tracing.shutdown());
    if (options.sql && !options.databaseUrl) throw new Error('a shared connection pool needs the databaseUrl it connects to');
    let databaseUrl = options.databaseUrl ?? process.env.DATABASE_URL;
    if (databaseUrl) assertDatabaseUrl(databaseUrl);
    let embedded: EmbeddedPostgres | null = null;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({
        dataDir: options.dataDir,
        onProgress: (message) => logger.info(message),
        onLog: (message) => logger.debug({ postgres: message }),
      });
      const stop = embedded.stop;
      cleanups.push(stop);
      databaseUrl = embedded.url;
    }
    await migrateDatabase(databaseUrl).catch((error: unknown) => {
      throw connectFailure(error, databaseUrl as string);
    });
    const sql = options.sql ?? (await connectDatabase(databaseUrl));
    if (!options.sql) cleanups.push(() => sql.end({ timeout: 5 }));
    // A server started after months down makes this month's log and event partitions before it takes a line or an event.
    if ((await ensurePartitions(sql)) === null) {
      logger.warn(
        'the log or event partitions of the months ahead could not be made now (a lock was held too long); the retention loop tries again',
      );
    }
    const secretBox = options.secretKey ? new SecretBox(options.secretKey) : null;
    if (!secretBox) {
      logger.warn(
        'OUTPOST_SECRET_KEY is not set: run-token signing keys are stored unsealed in the database; set it (32+ characters)',
      );
    }
    const tokens = await RunTokens.load(sql, { secretBox });
    const notifier = new RunNotifier(databaseUrl, logger);
    cleanups.push(() => notifier.close());
    await notifier.start();

    // Tenants' expressions run in this pool from the first request on; its threads start now, not on the first event.
    if (options.cel) configureCelSandbox(options.cel);
    celSandbox().warm();

    const mailer = options.mail ? new Mailer(options.mail, logger) : null;
    if (mailer) cleanups.push(async () => mailer.close());
    else logger.warn(LINKS_PRINTED_NOTICE);

    const shutdown = new AbortController();
    const metrics = new ApiMetrics(() => poolRunCounts(sql), logger);
    // Everything this app caches or counts is made here, for it alone (see AppDeps).
    const deps: AppDeps = {
      sql,
      logger,
      tokens,
      notifier,
      leaseSeconds,
      leaseGraceSeconds,
      validateResponses: options.validateResponses ?? process.env.NODE_ENV !== 'production',
      shutdown: shutdown.signal,
      dashboardDir: options.dashboardDir,
      rateLimiter: new RateLimiter(options.rateLimits),
      bulkReads: new BulkReads(options.bulkReads),
      trustedProxyHops: options.trustedProxyHops ?? 0,
      // Set to the listening address below unless configured.
      publicUrl: options.publicUrl?.replace(/\/+$/, '') ?? '',
      oidc: new OidcRelyingParty({ allowLoopbackHttp: options.allowLoopbackOidc ?? false }),
      domainRecords: new DomainRecords(options.dnsServers),
      secretBox,
      passwordParams: options.passwordParams ?? DEFAULT_SCRYPT,
      apiKeys: new ApiKeyCache(),
      workerRows: new WorkerRows(),
      idleWorkers: new IdleWorkers(),
      limitedPools: new LimitedPools(),
      metrics,
      metricsTokenDigest: metricsToken,
      mailer,
      notifications: { allowPrivateNetworks: options.notifications?.allowPrivateNetworks ?? false },
    };
    const app = createApp(deps);

    // The background loops: each elects one leader across replicas, so every replica starts them all.
    const loops: BackgroundLoop[] =
      options.loops === false
        ? []
        : [
            new LeaseExpiryLoop(sql, databaseUrl, logger, {
              leaseSeconds,
              ...options.leaseExpiry,
              graceSeconds: leaseGraceSeconds,
              metrics,
            }),
            new SchedulerLoop(sql, databaseUrl, logger, options.scheduler),
            new LateRunsLoop(sql, databaseUrl, logger, { ...options.lateRuns, metrics }),
            new RetentionLoop(sql, databaseUrl, logger, options.retention),
            new BackfillLoop(sql, databaseUrl, logger, notifier, options.backfills),
            new WaitsLoop(sql, databaseUrl, logger, notifier, options.waits),
            new AutomationLoop(sql, databaseUrl, logger, notifier, options.automations),
            new NotificationLoop(sql, databaseUrl, logger, notifier, secretBox, mailer, options.notifications),
            new WorkerStatusLoop(sql, databaseUrl, logger, options.workerStatus),
            new AssetAutomationLoop(sql, databaseUrl, logger, notifier, options.assetAutomation),
          ];
    const server = createHttpServer(app.fetch, httpLimits, logger);
    const port = await listen(server, options.port ?? DEFAULT_PORT, host).catch((error: unknown) => {
      throw listenFailure(error, host, options.port ?? DEFAULT_PORT);
    });
    // Only a server that listens takes part in elections: one that cannot start does no leader's work.
    for (const loop of loops) {
      cleanups.push(() => loop.stop());
      loop.start();
    }
    const drainMs = options.drainMs ?? 10_000;
    cleanups.push(async () => {
      const drained = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive sockets finish their current request and are then closed, until all are gone or time is up.
      const deadline = Date.now() + drainMs;
      let done = false;
      void drained.then(() => {
        done = true;
      });
      while (!done && Date.now() < deadline) {
        server.closeIdleConnections();
        await Promise.race([drained, new Promise((r) => setTimeout(r, 50))]);
      }
      if (!done) {
        logger.warn('in-flight requests did not finish in time; closing their connections');
        server.closeAllConnections();
        await drained;
      }
    });
    // Runs first on close: ends long-polls and turns /readyz unready while requests drain.
    cleanups.push(async () => shutdown.abort());

    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
    if (!deps.publicUrl) deps.publicUrl = url;
    logger.info({ url }, 'Outpost API listening');
    if (httpLimits.maxConnections < httpLimits.requestedMaxConnections) {
      logger.warn(
        {
          maxConnections: httpLimits.maxConnections,
          requested: httpLimits.requestedMaxConnections,
          openFiles: httpLimits.openFiles,
        },
        'serving fewer connections than configured: the open-files limit (ulimit -Hn) allows no more',
      );
    }

    let closing: Promise<void> | null = null;
    return {
      url,
      port,
      app,
      sql,
      databaseUrl,
      bootstrap: () => bootstrapDefaults(sql),
      close: () => {
        closing ??= runCleanups(cleanups, logger).then(() => logger.info('Outpost API stopped'));
        return closing;
      },
    };
  } catch (error) {
    await runCleanups(cleanups, logger);
    throw error;
  }
}
