import type { ApiKeyCache } from './auth/db/api-keys.js';
import type { ScryptParams } from './auth/passwords.js';
import type { RunTokens } from './auth/run-tokens.js';
import type { Sql } from './db/client.js';
import type { SecretBox } from './db/secret-box.js';
import type { BulkReads } from './http/bulk-reads.js';
import type { RateLimiter } from './http/rate-limit.js';
import type { DomainRecords } from './identity/domain-records.js';
import type { OidcRelyingParty } from './identity/oidc.js';
import type { Logger } from './logger.js';
import type { Mailer } from './mail/mailer.js';
import type { ApiMetrics } from './metrics/api-metrics.js';
import type { IdleWorkers } from './runs/claim-runs.js';
import type { LimitedPools } from './runs/db/claim.js';
import type { WorkerRows } from './runs/db/workers.js';
import type { RunNotifier } from './runs/run-notifier.js';

/**
 * What request handlers and loops share: built once per app (startServer), passed everywhere. Every
 * cache, registry and counter an app keeps lives here, never in a module, so two apps in one
 * process (replicas in a test) keep apart what two replicas on two machines would.
 */
export interface AppDeps {
  sql: Sql;
  logger: Logger;
  /** Signs and verifies run tokens: this app's signing keys, and the tokens it verified lately (auth/run-token.ts). */
  tokens: RunTokens;
  notifier: RunNotifier;
  /** Seconds a claim or heartbeat extends a lease by. */
  leaseSeconds: number;
  /** The lease grace (LeaseExpiryOptions.graceSeconds), announced to workers with every heartbeat. */
  leaseGraceSeconds: number;
  /** Check every response against its contract (tests and development). */
  validateResponses: boolean;
  /** Aborted when the server starts shutting down, so waiting claims answer at once. */
  shutdown: AbortSignal;
  /** The built dashboard served at `/`: the @outpost/dashboard package's dist when undefined, none when null. */
  dashboardDir?: string | null;
  /** Request limits per credential, per workspace and per client address. */
  rateLimiter: RateLimiter;
  /** Places and pacing of long reads of a tenant's history (the organisation's audit export). */
  bulkReads: BulkReads;
  /** Reverse proxies in front of the API whose X-Forwarded-For entries are believed (0: none). */
  trustedProxyHops: number;
  /** The origin browsers reach the API at, without a trailing slash; single sign-on redirect URIs are made from it. */
  publicUrl: string;
  /** OpenID Connect relying party, with its discovery and JWKS caches. */
  oidc: OidcRelyingParty;
  /** TXT lookups that prove an organisation's single sign-on domains. */
  domainRecords: DomainRecords;
  /** Encrypts stored OIDC client secrets; null without OUTPOST_SECRET_KEY (public clients only). */
  secretBox: SecretBox | null;
  /** scrypt parameters of new password hashes. */
  passwordParams: ScryptParams;
  /** Active API keys this app verified in the last seconds (auth/db/api-keys.ts). */
  apiKeys: ApiKeyCache;
  /** Worker rows this app's claims wrote in the last seconds (runs/db/workers.ts). */
  workerRows: WorkerRows;
  /** Workers whose last claim on this app came back empty (runs/claim-runs.ts). */
  idleWorkers: IdleWorkers;
  /** Pools whose last claim had a limit to lock: they skip the unlocked one-statement claim (runs/db/claim.ts). */
  limitedPools: LimitedPools;
  /** This server's Prometheus metrics. */
  metrics: ApiMetrics;
  /** sha256 of OUTPOST_METRICS_TOKEN, the one credential `/metrics` accepts; null leaves `/metrics` unmounted. */
  metricsTokenDigest: Buffer | null;
  /** Sends invitation and verification links; null without OUTPOST_SMTP_URL (then no link is sent, and admins are told). */
  mailer: Mailer | null;
  /** Outgoing notifications: whether their URLs may reach private and loopback addresses (OUTPOST_NOTIFY_ALLOW_PRIVATE_NETWORKS). */
  notifications: { allowPrivateNetworks: boolean };
}
