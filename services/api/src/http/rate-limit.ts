import { ApiError } from '../errors.js';

/**
 * Request rates, as token buckets held in the memory of each API process. With N replicas behind
 * a load balancer a client spread over all of them gets up to N times these rates. That is the
 * accepted trade: the limits exist to stop one tenant from starving the others and the database,
 * not to meter billing; a process-local bucket costs no round trip on every request, and Postgres
 * (the one shared store) is exactly what a rate limiter must not add load to. Operators who need
 * cluster-wide figures divide the rates by the replica count (OUTPOST_RATE_LIMIT_* variables).
 *
 * Two classes of traffic have separate buckets, so neither can starve the other: `api` (people,
 * the CLI, automation keys) and `runtime` (worker keys and run tokens: claims, heartbeats, state
 * changes, log batches). Defaults follow Prefect Cloud's published limits (625–5,000 requests a
 * minute a workspace); the runtime class is sized so a fleet of 20 workers with 10 busy runs each
 * (heartbeat every 10 s, log batches every 0.5 s) stays below half of it.
 */
export interface RateLimitSettings {
  /** Requests a minute one API key or session may make. @default 1250 */
  keyPerMinute: number;
  /** Requests a minute all API keys and sessions of one workspace may make together. @default 5000 */
  workspacePerMinute: number;
  /** Requests a minute one worker key, or one run (through its run tokens), may make. @default 3000 */
  runtimeKeyPerMinute: number;
  /** Requests a minute all workers and runs of one workspace may make together. @default 60000 */
  runtimeWorkspacePerMinute: number;
  /**
   * Items of batches a minute one worker key or run may send: task-run events, log lines, state
   * proposals. A batch costs one request and as many items as it carries, so work is metered, not
   * round trips. @default 1200000 (20,000 a second: a 10,000-item map at 4,000 task runs a second
   * reports 8,000 events a second, plus its lines)
   */
  runtimeItemsPerMinute: number;
  /** Items of batches a minute all workers and runs of one workspace may send together. @default 12000000 */
  runtimeWorkspaceItemsPerMinute: number;
  /** Requests a minute from one client address to public routes, and failed authentications. @default 300 */
  anonymousPerMinute: number;
  /**
   * JWKS fetches a minute from one client address. A bucket of its own: verifiers fetching keys
   * must not use up the sign-in allowance of the address they share, nor sign-in attempts block
   * them. The document is cached for 5 minutes, so real verifiers need a handful an hour. @default 300
   */
  jwksPerMinute: number;
  /** Bucket depth in seconds of the rate: the burst absorbed before requests are refused. @default 15 */
  burstSeconds: number;
  /**
   * Password attempts (sign-in, change) on one account from one client address in 15 minutes:
   * online guessing gets nowhere, and someone guessing from their address does not lock the
   * owner, at theirs, out. @default 10
   */
  signInAttemptsPerAccountAddress: number;
  /**
   * Password attempts on one account from all addresses together in 15 minutes: the backstop that
   * bounds a guessing attack spread over many addresses. Far above one address's allowance, so
   * reaching it takes a distributed attack, not a forgetful owner. @default 100
   */
  signInAttemptsPerAccount: number;
  /** Password attempts per client address in 15 minutes, across accounts (password spraying). @default 50 */
  signInAttemptsPerAddress: number;
  /** Emails a person may have sent to their own address in an hour (verification links). @default 5 */
  emailsPerAccountPerHour: number;
}

export const DEFAULT_RATE_LIMITS: RateLimitSettings = {
  keyPerMinute: 1250,
  workspacePerMinute: 5000,
  runtimeKeyPerMinute: 3000,
  runtimeWorkspacePerMinute: 60_000,
  runtimeItemsPerMinute: 1_200_000,
  runtimeWorkspaceItemsPerMinute: 12_000_000,
  anonymousPerMinute: 300,
  jwksPerMinute: 300,
  burstSeconds: 15,
  signInAttemptsPerAccountAddress: 10,
  signInAttemptsPerAccount: 100,
  signInAttemptsPerAddress: 50,
  emailsPerAccountPerHour: 5,
};

export interface BucketRequest {
  key: string;
  perMinute: number;
  /** Most tokens the bucket holds; at least 1. */
  capacity: number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** Tokens per millisecond. */
  rate: number;
  capacity: number;
}

/** Buckets idle long enough to be full again are forgotten once the map grows past this. */
const SWEEP_THRESHOLD = 10_000;

/** A set of token buckets, each refilled continuously at its own rate. */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>();
  #sweepAt = SWEEP_THRESHOLD;
  #sweptAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly now: () => number = () => performance.now()) {}

  /**
   * Takes `cost` tokens from every named bucket, or from none when any has too few. Returns 0 when
   * the request may proceed, else the whole seconds until all of them would allow it. A cost above a
   * bucket's capacity is charged as its capacity (a whole burst), so one large batch is never refused forever.
   */
  take(requests: readonly BucketRequest[], cost = 1): number {
    const now = this.now();
    let waitSeconds = 0;
    const current: [BucketRequest, Bucket][] = [];
    for (const request of requests) {
      const capacity = Math.max(1, request.capacity);
      const rate = request.perMinute / 60_000;
      const stored = this.#buckets.get(request.key);
      const tokens = stored ? Math.min(capacity, stored.tokens + (now - stored.at) * rate) : capacity;
      const bucket = { tokens, at: now, rate, capacity };
      current.push([request, bucket]);
      const needed = Math.min(cost, capacity);
      if (tokens < needed) waitSeconds = Math.max(waitSeconds, rate > 0 ? (needed - tokens) / rate / 1000 : 3600);
    }
    for (const [request, bucket] of current) {
      if (waitSeconds === 0) bucket.tokens -= Math.min(cost, bucket.capacity);
      this.#buckets.set(request.key, bucket);
    }
    const size = this.#buckets.size;
    if (size >= this.#sweepAt || (size >= SWEEP_THRESHOLD && now - this.#sweptAt > 60_000)) this.#sweep();
    return waitSeconds === 0 ? 0 : Math.max(1, Math.ceil(waitSeconds));
  }

  /** Tokens left in a bucket now (for tests and diagnostics). */
  peek(request: BucketRequest): number {
    const stored = this.#buckets.get(request.key);
    if (!stored) return request.capacity;
    return Math.min(request.capacity, stored.tokens + (this.now() - stored.at) * (request.perMinute / 60_000));
  }

  get size(): number {
    return this.#buckets.size;
  }

  /** Drops buckets that have refilled completely: they behave exactly like absent ones. */
  #sweep(): void {
    const now = this.now();
    this.#sweptAt = now;
    for (const [key, bucket] of this.#buckets) {
      if (bucket.tokens + (now - bucket.at) * bucket.rate >= bucket.capacity) this.#buckets.delete(key);
    }
    this.#sweepAt = Math.max(SWEEP_THRESHOLD, this.#buckets.size * 2);
  }
}

export type TrafficClass = 'api' | 'runtime';

/** Who a rate is counted against: one credential within one workspace. */
export interface RateSubject {
  workspaceId: string;
  /** Stable id of the credential: API key id, session id or run id. */
  credential: string;
  traffic: TrafficClass;
}

export function rateLimited(retryAfterSeconds: number, what: string): ApiError {
  return new ApiError('rate_limited', `${what}; retry after ${retryAfterSeconds} s`, {
    headers: { 'retry-after': String(retryAfterSeconds) },
  });
}

/** The API's request limits: per credential and per workspace, and per address for anonymous traffic. */
export class RateLimiter {
  readonly settings: RateLimitSettings;
  readonly #buckets: TokenBuckets;

  constructor(settings: Partial<RateLimitSettings> = {}, now?: () => number) {
    this.settings = { ...DEFAULT_RATE_LIMITS, ...settings };
    for (const [name, value] of Object.entries(this.settings)) {
      if (!Number.isFinite(value) || value <= 0) throw new Error(`rate limit ${name} must be a positive number`);
    }
    this.#buckets = new TokenBuckets(now);
  }

  #bucket(key: string, perMinute: number): BucketRequest {
    return { key, perMinute, capacity: Math.ceil((perMinute / 60) * this.settings.burstSeconds) };
  }

  /** Throws a 429 problem with Retry-After when the credential or its workspace is over its rate. */
  check(subject: RateSubject): void {
    const s = this.settings;
    const runtime = subject.traffic === 'runtime';
    const wait = this.#buckets.take([
      this.#bucket(`c:${subject.traffic}:${subject.credential}`, runtime ? s.runtimeKeyPerMinute : s.keyPerMinute),
      this.#bucket(`w:${subject.traffic}:${subject.workspaceId}`, runtime ? s.runtimeWorkspacePerMinute : s.workspacePerMinute),
    ]);
    if (wait > 0) throw rateLimited(wait, 'too many requests for this credential or workspace');
  }

  /**
   * The items a runtime batch carries (task-run events, log lines, state proposals), counted once
   * the body is parsed, on top of the request itself. People's traffic has no batches to meter.
   */
  chargeItems(subject: RateSubject, items: number): void {
    if (subject.traffic !== 'runtime' || items <= 0) return;
    const s = this.settings;
    const wait = this.#buckets.take(
      [
        this.#bucket(`ci:${subject.credential}`, s.runtimeItemsPerMinute),
        this.#bucket(`wi:${subject.workspaceId}`, s.runtimeWorkspaceItemsPerMinute),
      ],
      items,
    );
    if (wait > 0) throw rateLimited(wait, 'too many batched items for this credential or workspace');
  }

  /**
   * Password attempts, counted before the password is checked (each costs a scrypt): per account
   * and address, per account whatever the address (a much higher backstop), and per address
   * whatever the account (password spraying). Each allowance refills completely in 15 minutes.
   */
  checkSignIn(email: string, address: string | null): void {
    const s = this.settings;
    const account = email.trim().toLowerCase().slice(0, 320);
    const from = address ?? 'unknown';
    const wait = this.#buckets.take([
      {
        key: `pk:${from}\n${account}`,
        perMinute: s.signInAttemptsPerAccountAddress / 15,
        capacity: s.signInAttemptsPerAccountAddress,
      },
      { key: `p:${account}`, perMinute: s.signInAttemptsPerAccount / 15, capacity: s.signInAttemptsPerAccount },
      { key: `pa:${from}`, perMinute: s.signInAttemptsPerAddress / 15, capacity: s.signInAttemptsPerAddress },
    ]);
    if (wait > 0) throw rateLimited(wait, 'too many password attempts for this account or from this address');
  }

  /**
   * Password reset requests, with the allowances of password attempts (checkSignIn) in buckets of
   * their own: per address asked for and client address, per address asked for, and per client
   * address. Counted by the address asked for, whether or not an account has it, so a refusal says
   * nothing about accounts; and apart from sign-ins, so asking for someone's reset cannot lock
   * them out of signing in.
   */
  checkPasswordReset(email: string, address: string | null): void {
    const s = this.settings;
    const account = email.trim().toLowerCase().slice(0, 320);
    const from = address ?? 'unknown';
    const wait = this.#buckets.take([
      {
        key: `rk:${from}\n${account}`,
        perMinute: s.signInAttemptsPerAccountAddress / 15,
        capacity: s.signInAttemptsPerAccountAddress,
      },
      { key: `r:${account}`, perMinute: s.signInAttemptsPerAccount / 15, capacity: s.signInAttemptsPerAccount },
      { key: `ra:${from}`, perMinute: s.signInAttemptsPerAddress / 15, capacity: s.signInAttemptsPerAddress },
    ]);
    if (wait > 0) throw rateLimited(wait, 'too many password reset requests for this address or from this client');
  }

  /** Emails to an account's address, taken silently: false when its allowance is used up (nothing is thrown). */
  takeEmail(userId: string): boolean {
    const n = this.settings.emailsPerAccountPerHour;
    return this.#buckets.take([{ key: `e:${userId}`, perMinute: n / 60, capacity: n }]) === 0;
  }

  /** For requests without a credential (public routes, failed authentication), counted per client address. */
  checkAnonymous(address: string | null): void {
    const wait = this.#buckets.take([this.#bucket(`a:${address ?? 'unknown'}`, this.settings.anonymousPerMinute)]);
    if (wait > 0) throw rateLimited(wait, 'too many requests from this address');
  }

  /** Emails a person has sent to their own address: a mailbox is not to be flooded from a session. */
  checkEmail(userId: string): void {
    const n = this.settings.emailsPerAccountPerHour;
    const wait = this.#buckets.take([{ key: `e:${userId}`, perMinute: n / 60, capacity: n }]);
    if (wait > 0) throw rateLimited(wait, 'too many emails to this address');
  }

  /** For the public JWKS document, counted per client address in a bucket of its own. */
  checkJwks(address: string | null): void {
    const wait = this.#buckets.take([this.#bucket(`j:${address ?? 'unknown'}`, this.settings.jwksPerMinute)]);
    if (wait > 0) throw rateLimited(wait, 'too many key-set requests from this address');
  }
}

/** Fields of a request body that hold a batch: each element is one item of work. */
const BATCH_FIELDS = ['events', 'logs', 'items'] as const;

/** The items a request body carries in its batch field (a log batch, task-run events, state proposals); 0 for none. */
export function batchItems(body: unknown): number {
  if (!body || typeof body !== 'object') return 0;
  let items = 0;
  for (const field of BATCH_FIELDS) {
    const value = (body as Record<string, unknown>)[field];
    if (!Array.isArray(value)) continue;
    items += value.length;
    // A batch of many runs' logs: each run's lines count too.
    for (const element of value) {
      const lines = (element as { logs?: unknown } | null)?.logs;
      if (Array.isArray(lines)) items += lines.length;
    }
  }
  return items;
}
