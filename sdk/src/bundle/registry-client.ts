import { setTimeout as delay } from 'node:timers/promises';
import { Agent, type Dispatcher, request } from 'undici';
import type { RegistryCredentials } from './credentials.js';
import { BundleError } from './errors.js';
import { MANIFEST_MEDIA_TYPE, MAX_MANIFEST_BYTES } from './manifest.js';
import { type BearerToken, basicAuthorization, describe, fetchBearerToken, isFresh, parseChallenges } from './registry-auth.js';
import { isLoopbackHost } from './source.js';

export interface RegistryClientOptions {
  host: string;
  repository: string;
  credentials: RegistryCredentials | null;
  /** `pull` to read, `pull,push` to write. */
  actions: 'pull' | 'pull,push';
  /** Plain HTTP (and token realms over HTTP) for a registry that is not on loopback. */
  insecure?: boolean;
}

interface SendOptions {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  url: string;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Response bodies larger than this are cut off and reported via `tooLarge`. */
  maxBytes?: number;
  tooLarge?: () => BundleError;
}

export interface RegistryResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Uint8Array;
}

const MAX_REDIRECTS = 5;
const RETRY_DELAYS_MS = [250, 1000];
const ERROR_BODY_BYTES = 64 * 1024;

function header(response: RegistryResponse, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

async function readBody(body: Dispatcher.ResponseData['body'], maxBytes: number): Promise<Uint8Array | null> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.byteLength;
    if (total > maxBytes) {
      body.destroy();
      return null;
    }
    chunks.push(chunk);
  }
  return new Uint8Array(Buffer.concat(chunks, total));
}

/**
 * A client for one repository of an OCI distribution registry. It authenticates lazily: the first
 * 401 names the scheme (Basic or a Bearer token realm) and later requests reuse what it learnt.
 * Call `close()` when done; it owns its connection pool.
 */
export class RegistryClient {
  readonly host: string;
  readonly repository: string;
  private readonly baseUrl: string;
  private readonly credentials: RegistryCredentials | null;
  private readonly scope: string;
  private readonly insecure: boolean;
  private readonly agent = new Agent({ connect: { timeout: 15_000 }, headersTimeout: 60_000, bodyTimeout: 300_000 });
  private scheme: 'none' | 'basic' | 'bearer' = 'none';
  private token: BearerToken | undefined;

  constructor(options: RegistryClientOptions) {
    this.host = options.host;
    this.repository = options.repository;
    this.credentials = options.credentials;
    this.insecure = options.insecure ?? false;
    this.scope = `repository:${options.repository}:${options.actions}`;
    this.baseUrl = `${this.insecure || isLoopbackHost(options.host) ? 'http' : 'https'}://${options.host}`;
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  /** Checks that the registry answers and accepts the credentials for this repository. */
  async ping(): Promise<void> {
    const response = await this.send({ method: 'GET', url: '/v2/' });
    if (response.status !== 200) throw this.statusError(response, 'the API version check');
  }

  async hasBlob(digest: string): Promise<boolean> {
    const response = await this.send({ method: 'HEAD', url: `/v2/${this.repository}/blobs/${digest}` });
    if (response.status === 200) return true;
    if (response.status === 404) return false;
    throw this.statusError(response, `blob ${digest}`);
  }

  /** Monolithic upload: POST opens an upload session, one PUT with `?digest=` closes it. */
  async uploadBlob(digest: string, bytes: Uint8Array): Promise<void> {
    const started = await this.send({
      method: 'POST',
      url: `/v2/${this.repository}/blobs/uploads/`,
      headers: { 'content-length': '0' },
    });
    if (started.status !== 202) throw this.statusError(started, `an upload of ${digest}`);
    const location = header(started, 'location');
    if (!location) throw new BundleError('invalid', `registry ${this.host} opened an upload without a Location`);
    const target = new URL(location, this.baseUrl).href;
    const url = `${target}${target.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
    const finished = await this.send({
      method: 'PUT',
      url,
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    if (finished.status !== 201 && finished.status !== 204) throw this.statusError(finished, `the upload of ${digest}`);
  }

  /** Stores the manifest under `reference` and returns the digest the registry computed. */
  async putManifest(reference: string, bytes: Uint8Array): Promise<string | null> {
    const response = await this.send({
      method: 'PUT',
      url: `/v2/${this.repository}/manifests/${reference}`,
      headers: { 'content-type': MANIFEST_MEDIA_TYPE },
      body: bytes,
    });
    if (response.status !== 201 && response.status !== 200) throw this.statusError(response, 'the manifest');
    return header(response, 'docker-content-digest') ?? null;
  }

  /** HEAD of a manifest; returns the digest the registry reports (if any), or throws `not_found`. */
  async headManifest(reference: string): Promise<string | null> {
    const response = await this.send({
      method: 'HEAD',
      url: `/v2/${this.repository}/manifests/${reference}`,
      headers: { accept: MANIFEST_MEDIA_TYPE },
    });
    if (response.status !== 200) throw this.statusError(response, `manifest ${reference}`);
    return header(response, 'docker-content-digest') ?? null;
  }

  async getManifest(digest: string): Promise<Uint8Array> {
    const response = await this.send({
      method: 'GET',
      url: `/v2/${this.repository}/manifests/${digest}`,
      headers: { accept: MANIFEST_MEDIA_TYPE },
      maxBytes: MAX_MANIFEST_BYTES,
      tooLarge: () => new BundleError('integrity', `manifest ${digest} from ${this.host} is larger than any bundle manifest`),
    });
    if (response.status !== 200) throw this.statusError(response, `manifest ${digest}`);
    return response.body;
  }

  /** Fetches a blob, following redirects to storage; never reads more than `size` bytes. */
  async getBlob(digest: string, size: number): Promise<Uint8Array> {
    const response = await this.send({
      method: 'GET',
      url: `/v2/${this.repository}/blobs/${digest}`,
      maxBytes: size,
      tooLarge: () =>
        new BundleError('integrity', `blob ${digest} from ${this.host} is larger than its descriptor says (${size} bytes)`),
    });
    if (response.status !== 200) throw this.statusError(response, `blob ${digest}`);
    return response.body;
  }

  /** Sends with whatever authorization is known; on a 401 learns the challenge and retries once. */
  private async send(options: SendOptions): Promise<RegistryResponse> {
    let renewed = false;
    for (;;) {
      const response = await this.sendRetrying(options, this.authorization());
      if (response.status !== 401) return response;
      if (renewed) throw this.unauthorized(response);
      await this.authenticate(response);
      renewed = true;
    }
  }

  private authorization(): string | undefined {
    if (this.scheme === 'bearer' && isFresh(this.token)) return `Bearer ${this.token.value}`;
    if (this.scheme === 'basic' && this.credentials && 'username' in this.credentials)
      return basicAuthorization(this.credentials);
    return undefined;
  }

  private async authenticate(response: RegistryResponse): Promise<void> {
    const challenges = parseChallenges(header(response, 'www-authenticate') ?? '');
    const bearer = challenges.find((challenge) => challenge.scheme === 'bearer');
    if (bearer) {
      const scopes = [this.scope];
      const asked = bearer.params.scope;
      if (asked && asked !== this.scope) scopes.push(...asked.split(' ').filter((scope) => scope !== this.scope));
      this.token = await fetchBearerToken({
        challenge: bearer,
        scopes,
        credentials: this.credentials,
        registry: this.host,
        insecure: this.insecure,
        dispatcher: this.agent,
      });
      this.scheme = 'bearer';
      return;
    }
    if (challenges.some((challenge) => challenge.scheme === 'basic')) {
      if (!this.credentials) throw this.unauthorized(response);
      if (!('username' in this.credentials)) {
        throw new BundleError(
          'unauthorized',
          `registry ${this.host} wants basic authentication, which an identity token cannot give`,
        );
      }
      this.scheme = 'basic';
      return;
    }
    throw this.unauthorized(response);
  }

  /** GET and HEAD are retried on network errors and gateway failures; writes are not repeated blindly. */
  private async sendRetrying(options: SendOptions, authorization: string | undefined): Promise<RegistryResponse> {
    const idempotent = options.method === 'GET' || options.method === 'HEAD';
    for (let attempt = 0; ; attempt++) {
      const retryIn = idempotent ? RETRY_DELAYS_MS[attempt] : undefined;
      try {
        const response = await this.sendFollowing(options, authorization);
        if (retryIn === undefined || ![502, 503, 504].includes(response.status)) return response;
      } catch (error) {
        if (error instanceof BundleError || retryIn === undefined) throw this.asBundleError(error);
      }
      await delay(retryIn);
    }
  }

  private async sendFollowing(options: SendOptions, authorization: string | undefined): Promise<RegistryResponse> {
    let url = new URL(options.url, this.baseUrl);
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': 'outpost-sdk', ...options.headers };
      // Storage redirects (S3, GCS) carry their own signature; the registry's authorization stays home.
      if (authorization && url.origin === origin) headers.authorization = authorization;
      const response = await request(url, { method: options.method, headers, body: options.body, dispatcher: this.agent });
      const location = response.headers.location;
      if (options.method === 'GET' && [301, 302, 303, 307, 308].includes(response.statusCode) && typeof location === 'string') {
        await response.body.dump();
        if (hop >= MAX_REDIRECTS) throw new BundleError('unreachable', `registry ${this.host} redirected too many times`);
        url = new URL(location, url);
        continue;
      }
      const ok = response.statusCode >= 200 && response.statusCode < 300;
      const limit = ok ? (options.maxBytes ?? MAX_MANIFEST_BYTES) : ERROR_BODY_BYTES;
      const body = options.method === 'HEAD' ? new Uint8Array() : await readBody(response.body, limit);
      if (options.method === 'HEAD') await response.body.dump();
      if (body === null) {
        if (ok && options.tooLarge) throw options.tooLarge();
        return { status: response.statusCode, headers: response.headers, body: new Uint8Array() };
      }
      return { status: response.statusCode, headers: response.headers, body };
    }
  }

  private asBundleError(error: unknown): BundleError {
    if (error instanceof BundleError) return error;
    return new BundleError('unreachable', `registry ${this.host} is unreachable: ${describe(error)}`, { cause: error });
  }

  private unauthorized(response: RegistryResponse): BundleError {
    const hint = this.credentials
      ? 'the credentials were rejected'
      : 'it requires credentials (set OUTPOST_REGISTRY_USERNAME and OUTPOST_REGISTRY_PASSWORD, or docker login)';
    return new BundleError(
      'unauthorized',
      `registry ${this.host} refused access to ${this.repository}: ${hint} (HTTP ${response.status})`,
    );
  }

  /** Maps a registry answer to a BundleError; distribution's error body is quoted, it never holds secrets. */
  statusError(response: RegistryResponse, what: string): BundleError {
    let detail = '';
    try {
      const parsed = JSON.parse(Buffer.from(response.body).toString('utf8')) as {
        errors?: { code?: string; message?: string }[];
      };
      const first = parsed.errors?.[0];
      if (first) detail = `: ${first.code ?? ''} ${first.message ?? ''}`.trimEnd().slice(0, 300);
    } catch {
      // Not a distribution error body; the status says enough.
    }
    const where = `${this.host}/${this.repository}`;
    const status = response.status;
    if (status === 404) return new BundleError('not_found', `${what} not found in ${where}${detail}`);
    if (status === 401 || status === 403) {
      return new BundleError(
        'unauthorized',
        `registry ${this.host} denied access to ${what} in ${this.repository} (HTTP ${status})${detail}`,
      );
    }
    if (status >= 500) return new BundleError('unreachable', `registry ${this.host} failed on ${what} (HTTP ${status})${detail}`);
    return new BundleError('invalid', `registry ${this.host} rejected ${what} in ${this.repository} (HTTP ${status})${detail}`);
  }
}
