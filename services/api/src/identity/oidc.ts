import { createHash, randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { SSO_CLAIM_GROUP_LENGTH_MAX, SSO_CLAIM_GROUPS_MAX } from '@outpost/sdk/contracts';
import { createRemoteJWKSet, customFetch, type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import { z } from 'zod';
import { type HostResolver, type OutboundAllowance, OutboundRefused, refusalAtSave } from '../outbound/address.js';
import { type OutboundResponse, outboundRequest } from '../outbound/request.js';

// The relying-party half of OpenID Connect: discovery, the authorization-code flow with PKCE (S256),
// the code exchange, and ID token verification with jose against the issuer's JWKS. Nothing here
// touches the database; the sign-in flow (oidc-sign-in.ts) stores state and resolves users.

/** Signature algorithms we accept, whatever else the issuer offers: no HS* (shared secrets), no `none`. */
const ACCEPTED_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
const MAX_RESPONSE_BYTES = 512 * 1024;
/** Seconds of clock difference with the issuer that `exp`, `iat` and `nbf` checks forgive. */
const CLOCK_TOLERANCE_SECONDS = 30;
/** An ID token is used at once, right after the code exchange; an old one is a replay. */
const MAX_ID_TOKEN_AGE = '10m';
const DISCOVERY_TTL_MS = 3600_000;

export type OidcFailure =
  | 'issuer_not_allowed'
  | 'discovery_failed'
  | 'token_exchange_failed'
  | 'id_token_invalid'
  | 'nonce_mismatch'
  | 'unsupported_provider';

/** A failed step of single sign-on. `reason` is safe to show; the cause goes to the logs only. */
export class OidcError extends Error {
  override readonly name = 'OidcError';
  constructor(
    readonly reason: OidcFailure,
    message: string,
    options: { cause?: unknown } = {},
  ) {
    super(message, options);
  }
}

export interface ProviderMetadata {
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  jwksUri: string;
  /** Accepted ID token algorithms: the issuer's list intersected with ours. */
  algorithms: string[];
  tokenAuthMethods: string[];
}

/**
 * The groups claim's values: a list of strings (or one string, as some providers send a single
 * group). Values longer than SSO_CLAIM_GROUP_LENGTH_MAX match no mapping and are left out; a list of
 * more than SSO_CLAIM_GROUPS_MAX values is refused rather than cut, so a person's roles never depend
 * on which part of their groups was read. Anything else is no groups.
 */
function groupsOf(claim: unknown): string[] {
  const values = typeof claim === 'string' ? [claim] : Array.isArray(claim) ? claim : [];
  if (values.length > SSO_CLAIM_GROUPS_MAX) {
    throw new OidcError(
      'id_token_invalid',
      `the ID token lists ${values.length} groups, more than the ${SSO_CLAIM_GROUPS_MAX} read: have the provider send only the groups assigned to this application`,
    );
  }
  return [
    ...new Set(
      values.filter((v): v is string => typeof v === 'string' && v.length > 0 && v.length <= SSO_CLAIM_GROUP_LENGTH_MAX),
    ),
  ];
}

export interface IdentityClaims {
  issuer: string;
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string | null;
  /** The values of the groups claim asked for (`groupsClaim`), strings only; empty when not asked or absent. */
  groups: string[];
}

const Discovery = z.looseObject({
  issuer: z.string(),
  authorization_endpoint: z.string(),
  token_endpoint: z.string(),
  jwks_uri: z.string(),
  id_token_signing_alg_values_supported: z.array(z.string()).optional(),
  code_challenge_methods_supported: z.array(z.string()).optional(),
  token_endpoint_auth_methods_supported: z.array(z.string()).optional(),
});

const TokenResponse = z.looseObject({ id_token: z.string().min(1).max(32_768) });

export interface RelyingPartyOptions {
  /**
   * Accept issuers and endpoints on loopback addresses, over `http://` too (development and tests);
   * production needs HTTPS to a public address (outbound/address.ts).
   */
  allowLoopbackHttp?: boolean;
  /** Tests inject names that resolve where they choose. @default the system's getaddrinfo */
  resolver?: HostResolver;
  /** @default 10000 */
  timeoutMs?: number;
}

export const randomToken = (): string => randomBytes(32).toString('base64url');

/** A PKCE verifier and its S256 challenge (RFC 7636). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomToken();
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
}

export class OidcRelyingParty {
  readonly #discovery = new Map<string, { at: number; metadata: Promise<ProviderMetadata> }>();
  readonly #jwks = new Map<string, JWTVerifyGetKey>();
  readonly #allowLoopbackHttp: boolean;
  readonly #allowance: OutboundAllowance;
  readonly #resolver: HostResolver | undefined;
  readonly #timeoutMs: number;

  constructor(options: RelyingPartyOptions = {}) {
    this.#allowLoopbackHttp = options.allowLoopbackHttp ?? false;
    this.#allowance = this.#allowLoopbackHttp ? 'loopback' : 'none';
    this.#resolver = options.resolver;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** Refuses URLs the control plane must not call: anything but HTTPS (loopback HTTP in development), credentials, fragments. */
  checkUrl(raw: string, what: string): URL {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new OidcError('issuer_not_allowed', `${what} is not a URL`);
    }
    const http = url.protocol === 'http:' && this.#allowLoopbackHttp && isLoopback(url.hostname);
    if (url.protocol !== 'https:' && !http) throw new OidcError('issuer_not_allowed', `${what} must use https`);
    if (url.username || url.password || raw.includes('#'))
      throw new OidcError('issuer_not_allowed', `${what} must not carry credentials or a fragment`);
    return url;
  }

  /** The issuer's form: a URL as checkUrl wants it, without a query (OIDC Discovery §2: no query, no fragment). */
  checkIssuer(raw: string): URL {
    const url = this.checkUrl(raw, 'the issuer');
    if (raw.includes('?')) throw new OidcError('issuer_not_allowed', 'the issuer must not carry a query');
    return url;
  }

  /**
   * The check of a save: the issuer's form, and its host's addresses as they resolve now (a name
   * that does not resolve yet is judged when it is dialled). Throws OidcError('issuer_not_allowed').
   */
  async checkIssuerDestination(raw: string): Promise<void> {
    const url = this.checkIssuer(raw);
    const refused = await refusalAtSave(url, this.#allowance, this.#resolver);
    if (refused) throw new OidcError('issuer_not_allowed', `the issuer's address is not allowed: ${refused}`);
  }

  /** A request through the checked, pinned dialler (outbound/request.ts); no redirect is followed. */
  #request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string }): Promise<OutboundResponse> {
    return outboundRequest(url, {
      ...init,
      timeoutMs: this.#timeoutMs,
      maxResponseBytes: MAX_RESPONSE_BYTES,
      allowance: this.#allowance,
      ...(this.#resolver ? { resolver: this.#resolver } : {}),
    });
  }

  async #fetchJson(
    url: string,
    init: { method?: string; headers?: Record<string, string>; body?: string },
    failure: OidcFailure,
  ): Promise<unknown> {
    let res: OutboundResponse;
    try {
      // No redirects: an issuer's endpoints are where its discovery document says they are.
      res = await this.#request(url, init);
    } catch (cause) {
      const refused = cause instanceof OutboundRefused;
      throw new OidcError(failure, `${refused ? 'may not call' : 'cannot reach'} ${new URL(url).origin}`, { cause });
    }
    if (res.truncated) throw new OidcError(failure, 'the response is too large');
    const text = res.body.toString('utf8');
    const ok = res.status >= 200 && res.status < 300;
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (cause) {
      throw new OidcError(failure, `HTTP ${res.status} without a JSON body`, { cause });
    }
    if (!ok) {
      const code = (body as { error?: unknown } | null)?.error;
      throw new OidcError(failure, `HTTP ${res.status}${typeof code === 'string' ? ` (${code.slice(0, 100)})` : ''}`);
    }
    return body;
  }

  /** The issuer's discovery document, checked and cached for an hour. */
  discover(issuer: string): Promise<ProviderMetadata> {
    const cached = this.#discovery.get(issuer);
    if (cached && Date.now() - cached.at < DISCOVERY_TTL_MS) return cached.metadata;
    const metadata = this.#load(issuer);
    this.#discovery.set(issuer, { at: Date.now(), metadata });
    metadata.catch(() => this.#discovery.delete(issuer));
    return metadata;
  }

  async #load(issuer: string): Promise<ProviderMetadata> {
    this.checkIssuer(issuer);
    const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
    const parsed = Discovery.safeParse(
      await this.#fetchJson(url, { headers: { accept: 'application/json' } }, 'discovery_failed'),
    );
    if (!parsed.success) throw new OidcError('discovery_failed', 'the discovery document lacks required fields');
    const doc = parsed.data;
    // OIDC Discovery §4.3: the document's issuer must be exactly the one configured.
    if (doc.issuer !== issuer) throw new OidcError('discovery_failed', 'the discovery document names another issuer');
    for (const [field, value] of [
      ['authorization_endpoint', doc.authorization_endpoint],
      ['token_endpoint', doc.token_endpoint],
      ['jwks_uri', doc.jwks_uri],
    ] as const) {
      this.checkUrl(value, field);
    }
    // The two the control plane calls are judged by address now, and again by the dialler when called.
    for (const [field, value] of [
      ['token_endpoint', doc.token_endpoint],
      ['jwks_uri', doc.jwks_uri],
    ] as const) {
      const refused = await refusalAtSave(new URL(value), this.#allowance, this.#resolver);
      if (refused) throw new OidcError('discovery_failed', `the discovery document's ${field} is not allowed: ${refused}`);
    }
    if (doc.code_challenge_methods_supported && !doc.code_challenge_methods_supported.includes('S256')) {
      throw new OidcError('unsupported_provider', 'the issuer does not support PKCE with S256');
    }
    // Absent, the list defaults to RS256 (OIDC Discovery §3).
    const offered = doc.id_token_signing_alg_values_supported ?? ['RS256'];
    const algorithms = ACCEPTED_ALGORITHMS.filter((alg) => offered.includes(alg));
    if (algorithms.length === 0)
      throw new OidcError('unsupported_provider', 'the issuer signs ID tokens with no algorithm we accept');
    return {
      issuer: doc.issuer,
      authorizationEndpoint: doc.authorization_endpoint,
      tokenEndpoint: doc.token_endpoint,
      jwksUri: doc.jwks_uri,
      algorithms,
      tokenAuthMethods: doc.token_endpoint_auth_methods_supported ?? ['client_secret_basic'],
    };
  }

  authorizationUrl(
    meta: ProviderMetadata,
    input: { clientId: string; redirectUri: string; state: string; nonce: string; codeChallenge: string },
  ): string {
    const url = new URL(meta.authorizationEndpoint);
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', input.clientId);
    url.searchParams.set('redirect_uri', input.redirectUri);
    url.searchParams.set('scope', 'openid email profile');
    url.searchParams.set('state', input.state);
    url.searchParams.set('nonce', input.nonce);
    url.searchParams.set('code_challenge', input.codeChallenge);
    url.searchParams.set('code_challenge_method', 'S256');
    return url.toString();
  }

  /** Trades the authorization code for tokens and returns the ID token (the access token is not used). */
  async exchangeCode(
    meta: ProviderMetadata,
    input: { clientId: string; clientSecret: string | null; code: string; redirectUri: string; codeVerifier: string },
  ): Promise<string> {
    const body = new URLSearchParams({
      grant_type: 'authorization_code',
      code: input.code,
      redirect_uri: input.redirectUri,
      code_verifier: input.codeVerifier,
      client_id: input.clientId,
    });
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
    if (input.clientSecret !== null) {
      if (meta.tokenAuthMethods.includes('client_secret_basic')) {
        const pair = `${encodeURIComponent(input.clientId)}:${encodeURIComponent(input.clientSecret)}`;
        headers.authorization = `Basic ${Buffer.from(pair).toString('base64')}`;
      } else if (meta.tokenAuthMethods.includes('client_secret_post')) {
        body.set('client_secret', input.clientSecret);
      } else {
        throw new OidcError('unsupported_provider', 'the issuer supports no client authentication we offer');
      }
    }
    const response = await this.#fetchJson(
      meta.tokenEndpoint,
      { method: 'POST', headers, body: body.toString() },
      'token_exchange_failed',
    );
    const parsed = TokenResponse.safeParse(response);
    if (!parsed.success) throw new OidcError('token_exchange_failed', 'the token response has no ID token');
    return parsed.data.id_token;
  }

  /**
   * Verifies an ID token (OIDC Core §3.1.3.7): signature by a key of the issuer's JWKS with an
   * accepted algorithm, exact issuer, our client id as audience (and as `azp` when several
   * audiences are named), `exp`/`iat` with little tolerance, and the nonce of this sign-in.
   */
  async verifyIdToken(
    meta: ProviderMetadata,
    idToken: string,
    input: { clientId: string; nonce: string; groupsClaim?: string },
  ): Promise<IdentityClaims> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.#keySet(meta), {
        algorithms: meta.algorithms,
        issuer: meta.issuer,
        audience: input.clientId,
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        maxTokenAge: MAX_ID_TOKEN_AGE,
        requiredClaims: ['sub', 'iat', 'exp', 'nonce'],
      }));
    } catch (cause) {
      throw new OidcError('id_token_invalid', 'the ID token does not verify', { cause });
    }
    if (payload.nonce !== input.nonce) throw new OidcError('nonce_mismatch', 'the ID token belongs to another sign-in');
    const audiences = Array.isArray(payload.aud) ? payload.aud : [payload.aud];
    if ((audiences.length > 1 || payload.azp !== undefined) && payload.azp !== input.clientId) {
      throw new OidcError('id_token_invalid', 'the ID token was issued to another client');
    }
    const { sub, email, email_verified: verified, name } = payload as JWTPayload & Record<string, unknown>;
    if (typeof sub !== 'string' || sub.length === 0 || sub.length > 255)
      throw new OidcError('id_token_invalid', 'the ID token has no subject');
    const address = typeof email === 'string' && email.length <= 320 && email.includes('@') ? email.trim().toLowerCase() : null;
    return {
      issuer: meta.issuer,
      subject: sub,
      email: address,
      // Some issuers send the string "true"; anything else is unverified.
      emailVerified: address !== null && (verified === true || verified === 'true'),
      name: typeof name === 'string' ? name.slice(0, 200) : null,
      groups: input.groupsClaim === undefined ? [] : groupsOf((payload as Record<string, unknown>)[input.groupsClaim]),
    };
  }

  #keySet(meta: ProviderMetadata): JWTVerifyGetKey {
    let keys = this.#jwks.get(meta.jwksUri);
    if (!keys) {
      keys = createRemoteJWKSet(new URL(meta.jwksUri), {
        timeoutDuration: this.#timeoutMs,
        // jose's own fetch would dial whatever the name resolves to; the keys come through the checked dialler.
        [customFetch]: async (url: string, init: { method?: string; headers?: ConstructorParameters<typeof Headers>[0] }) => {
          const res = await this.#request(url, {
            method: init.method ?? 'GET',
            headers: Object.fromEntries(new Headers(init.headers)),
          });
          if (res.truncated) throw new OidcError('id_token_invalid', 'the JWKS is too large');
          return new Response(res.status === 204 || res.status === 304 ? null : new Uint8Array(res.body), { status: res.status });
        },
      });
      this.#jwks.set(meta.jwksUri, keys);
    }
    return keys;
  }
}
