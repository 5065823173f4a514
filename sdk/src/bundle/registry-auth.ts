import { type Dispatcher, request } from 'undici';
import type { RegistryCredentials } from './credentials.js';
import { BundleError } from './errors.js';
import { isLoopbackHost } from './source.js';

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

export interface BearerToken {
  value: string;
  expiresAt: number;
}

const TOKEN_CHARS = /[A-Za-z0-9!#$%&'*+.^_`|~-]/;
// Tokens are refreshed a little early so a request never leaves with one about to lapse.
const EXPIRY_MARGIN_MS = 10_000;
// The distribution token spec's default lifetime when the server names none.
const DEFAULT_EXPIRES_IN_S = 60;

/** Parses `WWW-Authenticate` (RFC 7235): `Bearer realm="…",service="…",scope="…"`, possibly several challenges. */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  let i = 0;
  const skip = (chars: RegExp) => {
    while (i < header.length && chars.test(header[i] ?? '')) i++;
  };
  const token = () => {
    const start = i;
    while (i < header.length && TOKEN_CHARS.test(header[i] ?? '')) i++;
    return header.slice(start, i);
  };
  while (i < header.length) {
    skip(/[\s,]/);
    const scheme = token();
    if (scheme === '') break;
    const challenge: Challenge = { scheme: scheme.toLowerCase(), params: {} };
    challenges.push(challenge);
    for (;;) {
      skip(/\s/);
      const mark = i;
      const key = token();
      skip(/\s/);
      if (key === '' || header[i] !== '=') {
        i = mark;
        break;
      }
      i++;
      skip(/\s/);
      let value = '';
      if (header[i] === '"') {
        i++;
        while (i < header.length && header[i] !== '"') {
          if (header[i] === '\\') i++;
          value += header[i] ?? '';
          i++;
        }
        i++;
      } else {
        value = token();
      }
      challenge.params[key.toLowerCase()] = value;
      skip(/\s/);
      if (header[i] !== ',') break;
      i++;
    }
  }
  return challenges;
}

export function basicAuthorization(credentials: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`, 'utf8').toString('base64')}`;
}

export function isFresh(token: BearerToken | undefined): token is BearerToken {
  return token !== undefined && token.expiresAt - EXPIRY_MARGIN_MS > Date.now();
}

async function readJson(body: Dispatcher.ResponseData['body']): Promise<unknown> {
  const text = await body.text();
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * Gets a bearer token from the realm a registry named in its challenge (the distribution token
 * spec): a GET with basic credentials, or the OAuth2 refresh-token POST for an identity token.
 */
export async function fetchBearerToken(options: {
  challenge: Challenge;
  scopes: string[];
  credentials: RegistryCredentials | null;
  registry: string;
  insecure: boolean;
  dispatcher: Dispatcher;
}): Promise<BearerToken> {
  const { challenge, scopes, credentials, registry } = options;
  const realm = challenge.params.realm;
  let url: URL;
  try {
    url = new URL(realm ?? '');
  } catch {
    throw new BundleError('unauthorized', `registry ${registry} sent a bearer challenge without a usable realm`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BundleError('unauthorized', `registry ${registry} names a token realm that is not http(s)`);
  }
  if (url.protocol === 'http:' && credentials && !options.insecure && !isLoopbackHost(url.host)) {
    throw new BundleError(
      'unauthorized',
      `registry ${registry} asks for credentials over plain http at ${url.host}; refusing (pass insecure to allow it)`,
    );
  }
  const service = challenge.params.service;
  const headers: Record<string, string> = { 'user-agent': 'outpost-sdk' };
  let response: Dispatcher.ResponseData;
  try {
    if (credentials && 'identityToken' in credentials) {
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        client_id: 'outpost',
        refresh_token: credentials.identityToken,
      });
      if (service) form.set('service', service);
      if (scopes.length > 0) form.set('scope', scopes.join(' '));
      response = await request(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/x-www-form-urlencoded' },
        body: form.toString(),
        dispatcher: options.dispatcher,
      });
    } else {
      if (service) url.searchParams.set('service', service);
      for (const scope of scopes) url.searchParams.append('scope', scope);
      if (credentials) {
        url.searchParams.set('account', credentials.username);
        headers.authorization = basicAuthorization(credentials);
      }
      response = await request(url, { method: 'GET', headers, dispatcher: options.dispatcher });
    }
  } catch (error) {
    throw new BundleError(
      'unreachable',
      `token service ${url.host} for registry ${registry} is unreachable: ${describe(error)}`,
      {
        cause: error,
      },
    );
  }
  const body = await readJson(response.body);
  if (response.statusCode === 401 || response.statusCode === 403) {
    throw new BundleError(
      'unauthorized',
      `token service ${url.host} for registry ${registry} rejected the credentials (HTTP ${response.statusCode})`,
    );
  }
  if (response.statusCode !== 200) {
    throw new BundleError(
      'unreachable',
      `token service ${url.host} for registry ${registry} answered HTTP ${response.statusCode}`,
    );
  }
  const fields = (body ?? {}) as { token?: unknown; access_token?: unknown; expires_in?: unknown };
  const value = typeof fields.token === 'string' ? fields.token : fields.access_token;
  if (typeof value !== 'string' || value === '') {
    throw new BundleError('unauthorized', `token service ${url.host} for registry ${registry} returned no token`);
  }
  const expiresIn = typeof fields.expires_in === 'number' && fields.expires_in > 0 ? fields.expires_in : DEFAULT_EXPIRES_IN_S;
  return { value, expiresAt: Date.now() + expiresIn * 1000 };
}

/** A network error in words, without anything from the request (no URL with credentials, no headers). */
export function describe(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const code = (cause as { code?: unknown } | null)?.code ?? (error as { code?: unknown } | null)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  return typeof code === 'string' && !message.includes(code) ? `${code} ${message}` : message;
}
