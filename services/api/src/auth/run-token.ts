import type { JsonWebKey } from 'node:crypto';
import { randomUUID } from 'node:crypto';
import {
  type CryptoKey,
  calculateJwkThumbprint,
  decodeProtectedHeader,
  exportJWK,
  generateKeyPair,
  importJWK,
  type JWK,
  type JWTPayload,
  jwtVerify,
  SignJWT,
} from 'jose';
import { makeRoom } from '../bounded-map.js';

// Run tokens let one run's attempt act on that run only: the flow process holds a credential that
// can report its own states, logs and results but cannot touch another run, read secrets or deploy,
// so code running in the customer's network never carries a workspace key. They are EdDSA JWTs: the
// private key never leaves the control plane, and a public JWKS lets any replica verify them.

export interface RunTokenClaims {
  runId: string;
  attempt: number;
  workspaceId: string;
  /**
   * The worker that claimed the attempt. A run handed back unstarted keeps its attempt for the
   * next claimer, so the attempt alone cannot fence the worker that lost it: its writes are refused
   * once another worker claimed the attempt (`auth/access.ts`).
   */
  workerId?: string;
}

export interface SigningKeyRecord {
  kid: string;
  privateJwk: JsonWebKey;
  publicJwk: JsonWebKey;
  createdAt: Date;
  /** When the key starts signing (it is published before); null or absent: at once. */
  activatesAt?: Date | null;
  retiredAt: Date | null;
}

export class RunTokenError extends Error {
  override name = 'RunTokenError';
}

const ALG = 'EdDSA';
const TYP = 'outpost-run+jwt';
const AUDIENCE = 'outpost-run';
const DEFAULT_TTL_SECONDS = 900;
const DEFAULT_ISSUER = 'outpost';
/** Seconds of clock skew between API replicas that `exp`/`iat` checks forgive. */
const CLOCK_TOLERANCE_SECONDS = 5;
/** Far above any token we issue; longer input is refused before it is parsed. */
const MAX_TOKEN_LENGTH = 4096;
// Canonical lowercase only: ids come from Postgres in this form, and the claim is compared exactly.
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const JWT_SHAPE = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/** A cheap shape check so the auth middleware can tell a JWT from an `op_` key; it proves nothing. */
export function looksLikeJwt(token: string): boolean {
  return token.length <= MAX_TOKEN_LENGTH && JWT_SHAPE.test(token);
}

/** A fresh Ed25519 key pair, named by the RFC 7638 thumbprint of its public half. */
export async function generateSigningKey(): Promise<SigningKeyRecord> {
  const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
  const publicJwk = await exportJWK(publicKey);
  const privateJwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk, 'sha256');
  return { kid, privateJwk: { ...privateJwk, kid }, publicJwk: { ...publicJwk, kid }, createdAt: new Date(), retiredAt: null };
}

function okpJwk(jwk: JsonWebKey, withPrivate: boolean): JWK {
  const { kty, crv, x, d } = jwk;
  if (kty !== 'OKP' || crv !== 'Ed25519' || typeof x !== 'string') throw new RunTokenError('signing key is not an Ed25519 JWK');
  if (!withPrivate) return { kty, crv, x };
  if (typeof d !== 'string') throw new RunTokenError('signing key has no private part');
  return { kty, crv, x, d };
}

async function importKey(jwk: JWK): Promise<CryptoKey> {
  try {
    const key = await importJWK(jwk, ALG);
    if (key instanceof Uint8Array) throw new Error('symmetric key');
    return key;
  } catch (cause) {
    throw new RunTokenError('signing key cannot be imported', { cause });
  }
}

function assertClaims(claims: RunTokenClaims): void {
  if (!UUID.test(claims.runId)) throw new RunTokenError('run id must be a lowercase UUID');
  if (!UUID.test(claims.workspaceId)) throw new RunTokenError('workspace id must be a lowercase UUID');
  if (!Number.isSafeInteger(claims.attempt) || claims.attempt < 1) throw new RunTokenError('attempt must be a positive integer');
  if (claims.workerId !== undefined && !UUID.test(claims.workerId)) throw new RunTokenError('worker id must be a lowercase UUID');
}

function claimsFrom(payload: JWTPayload): RunTokenClaims {
  const { sub, att, wsp, wkr } = payload;
  if (typeof sub !== 'string' || typeof wsp !== 'string' || typeof att !== 'number') {
    throw new RunTokenError('run token is missing its run, attempt or workspace');
  }
  if (wkr !== undefined && typeof wkr !== 'string') throw new RunTokenError('run token names its worker wrongly');
  const claims: RunTokenClaims = { runId: sub, attempt: att, workspaceId: wsp, ...(wkr === undefined ? {} : { workerId: wkr }) };
  assertClaims(claims);
  return claims;
}

/** Tokens whose verification is remembered at most (expired ones are dropped first, then the oldest). */
const VERIFIED_CACHE_MAX = 10_000;

/** Orders keys by when they start signing: a pending key outranks the current one once its time comes. */
const startsAt = (key: SigningKeyRecord): number => (key.activatesAt ?? key.createdAt).getTime();

export class RunTokenIssuer {
  readonly #keys = new Map<string, SigningKeyRecord>();
  /** Unretired keys, the one that starts signing last first. */
  readonly #candidates: SigningKeyRecord[];
  // Imports are cached as promises so concurrent first calls share one import.
  readonly #publicKeys = new Map<string, Promise<CryptoKey>>();
  readonly #privateKeys = new Map<string, Promise<CryptoKey>>();
  /**
   * Tokens this issuer has verified, with the time (ms) until which they stay valid. A worker sends
   * the same run token with every call of a run (state changes, logs, heartbeats, task runs), and an
   * Ed25519 verification costs ~0.4 ms of CPU plus a hop through the libuv thread pool, three times
   * per run in test/bench/lifecycle.ts. The key is the whole token, signature included, so only the
   * exact bytes that verified hit; an entry ends at the token's own `exp` (and `iat` + TTL) with no
   * clock tolerance, so a remembered token is never accepted later than verifying it again would
   * accept it. Run tokens have no revocation list (an attempt ends by its state, checked per call),
   * and the cache lives with the issuer, so reloading the keys starts it afresh.
   */
  readonly #verified = new Map<string, { claims: RunTokenClaims; until: number }>();
  readonly #ttlSeconds: number;
  readonly #issuer: string;
  readonly #now: () => number;

  constructor(keys: SigningKeyRecord[], options: { ttlSeconds?: number; issuer?: string; now?: () => number } = {}) {
    for (const key of keys) {
      if (this.#keys.has(key.kid)) throw new RunTokenError(`duplicate signing key id ${key.kid}`);
      okpJwk(key.publicJwk, false);
      this.#keys.set(key.kid, key);
    }
    this.#candidates = keys.filter((key) => key.retiredAt === null).sort((a, b) => startsAt(b) - startsAt(a));
    this.#now = options.now ?? Date.now;
    this.#ttlSeconds = options.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    if (!Number.isSafeInteger(this.#ttlSeconds) || this.#ttlSeconds < 1)
      throw new RunTokenError('ttlSeconds must be a positive integer');
    this.#issuer = options.issuer ?? DEFAULT_ISSUER;
  }

  /**
   * The key that signs now: the newest unretired one whose activation time has come. A key added
   * by a rotation is published (in `jwks()`, and to every replica's next reload) for minutes before
   * it signs, so no verifier ever meets a token from a key it has not heard of.
   */
  get signingKid(): string | null {
    const now = this.#now();
    return this.#candidates.find((key) => key.activatesAt == null || key.activatesAt.getTime() <= now)?.kid ?? null;
  }

  async sign(claims: RunTokenClaims): Promise<string> {
    assertClaims(claims);
    const kid = this.signingKid;
    const key = kid === null ? undefined : this.#keys.get(kid);
    if (key === undefined) throw new RunTokenError('no unretired, activated signing key');
    let privateKey = this.#privateKeys.get(key.kid);
    if (privateKey === undefined) {
      privateKey = importKey(okpJwk(key.privateJwk, true));
      this.#privateKeys.set(key.kid, privateKey);
    }
    return new SignJWT({
      att: claims.attempt,
      wsp: claims.workspaceId,
      ...(claims.workerId === undefined ? {} : { wkr: claims.workerId }),
    })
      .setProtectedHeader({ alg: ALG, typ: TYP, kid: key.kid })
      .setIssuer(this.#issuer)
      .setAudience(AUDIENCE)
      .setSubject(claims.runId)
      .setIssuedAt()
      .setExpirationTime(`${this.#ttlSeconds}s`)
      .setJti(randomUUID())
      .sign(await privateKey);
  }

  async verify(token: string): Promise<RunTokenClaims> {
    if (!looksLikeJwt(token)) throw new RunTokenError('not a run token');
    const known = this.#verified.get(token);
    if (known !== undefined) {
      // Date.now, not #now: the clock jose judged `exp` by.
      if (Date.now() < known.until) return { ...known.claims };
      this.#verified.delete(token);
    }
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch (cause) {
      throw new RunTokenError('run token header is malformed', { cause });
    }
    // jose would forgive case and an `application/` prefix in typ; a run token's typ is exact.
    if (header.alg !== ALG || header.typ !== TYP) throw new RunTokenError('not a run token');
    const record = typeof header.kid === 'string' ? this.#keys.get(header.kid) : undefined;
    if (record === undefined) throw new RunTokenError('run token is signed by an unknown key');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, await this.#publicKey(record), {
        algorithms: [ALG],
        issuer: this.#issuer,
        audience: AUDIENCE,
        typ: TYP,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: this.#ttlSeconds,
        requiredClaims: ['sub', 'iat', 'exp', 'jti'],
      }));
    } catch (cause) {
      throw new RunTokenError('run token is invalid or expired', { cause });
    }
    const claims = claimsFrom(payload);
    this.#remember(token, claims, payload);
    return claims;
  }

  #remember(token: string, claims: RunTokenClaims, payload: JWTPayload): void {
    if (typeof payload.exp !== 'number' || typeof payload.iat !== 'number') return;
    const until = Math.min(payload.exp, payload.iat + this.#ttlSeconds) * 1000;
    const now = Date.now();
    if (until <= now) return;
    makeRoom(this.#verified, VERIFIED_CACHE_MAX, (e) => e.until <= now);
    this.#verified.set(token, { claims: { ...claims }, until });
  }

  /** Public keys only, retired ones included, so tokens they signed keep verifying elsewhere. */
  jwks(): { keys: JsonWebKey[] } {
    return {
      keys: [...this.#keys.values()].map((key) => ({ ...okpJwk(key.publicJwk, false), kid: key.kid, alg: ALG, use: 'sig' })),
    };
  }

  #publicKey(record: SigningKeyRecord): Promise<CryptoKey> {
    let key = this.#publicKeys.get(record.kid);
    if (key === undefined) {
      key = importKey(okpJwk(record.publicJwk, false));
      this.#publicKeys.set(record.kid, key);
    }
    return key;
  }
}
