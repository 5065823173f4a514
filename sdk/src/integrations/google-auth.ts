import { readFile } from 'node:fs/promises';
import { IntegrationError } from './rest.js';

/*
 * OAuth 2.0 access tokens for Google Cloud APIs, found on the worker the way Google's client
 * libraries find them: a token given outright (`GOOGLE_OAUTH_ACCESS_TOKEN`), a service account key
 * file (`GOOGLE_APPLICATION_CREDENTIALS`: a JWT signed with its key, exchanged at its `token_uri`),
 * or the metadata server of the machine (GCE, GKE workload identity). Tokens are cached until a
 * minute before they expire.
 */

const SCOPE = 'https://www.googleapis.com/auth/cloud-platform';

export interface GoogleAuthOptions {
  /** @default process.env.GOOGLE_OAUTH_ACCESS_TOKEN */
  accessToken?: string;
  /** A service account key file's path or its JSON. @default process.env.GOOGLE_APPLICATION_CREDENTIALS */
  serviceAccountKey?: string;
  /** @default process.env */
  env?: NodeJS.ProcessEnv;
}

interface ServiceAccountKey {
  type: 'service_account';
  client_email: string;
  private_key: string;
  private_key_id?: string;
  token_uri?: string;
}

async function readKey(given: string): Promise<ServiceAccountKey> {
  const text = given.trim().startsWith('{') ? given : await readFile(given, 'utf8').catch(() => null);
  if (text === null)
    throw new IntegrationError(
      `cannot read the service account key file ${given}: check GOOGLE_APPLICATION_CREDENTIALS`,
      null,
      null,
    );
  let key: Partial<ServiceAccountKey>;
  try {
    key = JSON.parse(text) as Partial<ServiceAccountKey>;
  } catch {
    throw new IntegrationError('the service account key is not JSON: check GOOGLE_APPLICATION_CREDENTIALS', null, null);
  }
  if (key.type !== 'service_account' || typeof key.client_email !== 'string' || typeof key.private_key !== 'string') {
    throw new IntegrationError(
      'the Google credentials are not a service account key (type, client_email, private_key)',
      null,
      null,
    );
  }
  return key as ServiceAccountKey;
}

/** A function that returns a valid access token, fetching a new one when the cached one is about to expire. */
export function googleAccessToken(options: GoogleAuthOptions = {}): () => Promise<string> {
  const env = options.env ?? process.env;
  const fixed = options.accessToken ?? env.GOOGLE_OAUTH_ACCESS_TOKEN;
  if (fixed) return async () => fixed;
  const keySource = options.serviceAccountKey ?? env.GOOGLE_APPLICATION_CREDENTIALS;
  let cached: { token: string; until: number } | null = null;

  async function fromServiceAccount(source: string): Promise<{ token: string; expiresIn: number }> {
    const key = await readKey(source);
    const { SignJWT, importPKCS8 } = await import('jose');
    const tokenUri = key.token_uri ?? 'https://oauth2.googleapis.com/token';
    const now = Math.floor(Date.now() / 1000);
    const assertion = await new SignJWT({ scope: SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', ...(key.private_key_id ? { kid: key.private_key_id } : {}) })
      .setIssuer(key.client_email)
      .setAudience(tokenUri)
      .setIssuedAt(now)
      .setExpirationTime(now + 3600)
      .sign(await importPKCS8(key.private_key, 'RS256'));
    const response = await fetch(tokenUri, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }),
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await response.json().catch(() => ({}))) as {
      access_token?: string;
      expires_in?: number;
      error?: string;
      error_description?: string;
    };
    if (!response.ok || !body.access_token) {
      throw new IntegrationError(
        `Google refused the service account ${key.client_email}: ${body.error ?? response.status}${body.error_description ? ` (${body.error_description})` : ''} — check GOOGLE_APPLICATION_CREDENTIALS`,
        response.status,
        body.error ?? null,
      );
    }
    return { token: body.access_token, expiresIn: body.expires_in ?? 3600 };
  }

  async function fromMetadataServer(): Promise<{ token: string; expiresIn: number }> {
    const host = env.GCE_METADATA_HOST ?? 'metadata.google.internal';
    let response: Response;
    try {
      response = await fetch(`http://${host}/computeMetadata/v1/instance/service-accounts/default/token`, {
        headers: { 'metadata-flavor': 'Google' },
        signal: AbortSignal.timeout(5_000),
      });
    } catch {
      throw new IntegrationError(
        'no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS (a service account key file) or GOOGLE_OAUTH_ACCESS_TOKEN on the worker, or run it where the metadata server answers',
        null,
        null,
      );
    }
    const body = (await response.json().catch(() => ({}))) as { access_token?: string; expires_in?: number };
    if (!response.ok || !body.access_token)
      throw new IntegrationError(`the metadata server gave no access token (${response.status})`, response.status, null);
    return { token: body.access_token, expiresIn: body.expires_in ?? 300 };
  }

  return async () => {
    if (cached && Date.now() < cached.until) return cached.token;
    const fresh = keySource ? await fromServiceAccount(keySource) : await fromMetadataServer();
    cached = { token: fresh.token, until: Date.now() + Math.max(0, fresh.expiresIn - 60) * 1000 };
    return fresh.token;
  };
}
