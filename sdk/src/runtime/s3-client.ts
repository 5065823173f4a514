import { createHash } from 'node:crypto';
import { AwsClient } from 'aws4fetch';

/*
 * Objects in an S3-compatible bucket of the customer's (AWS S3, MinIO, Ceph RGW, Garage…), spoken to
 * with aws4fetch: Signature V4 over the platform's fetch, with no dependencies and a few kilobytes of
 * code. The official @aws-sdk/client-s3 would load several megabytes into every flow process at
 * start for the handful of calls needed here. Shared by the worker's result storage (task results)
 * and the `s3IO` asset I/O manager.
 */

export interface S3Location {
  bucket: string;
  /** Key prefix without leading or trailing slash; may be empty. */
  prefix: string;
  /** `http(s)://host:port` of an S3-compatible server; objects are addressed path-style there. Null for AWS. */
  endpoint: string | null;
  region: string;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Throws unless `bucket` is a valid S3 bucket name. */
export function checkS3Bucket(bucket: string): void {
  if (!BUCKET.test(bucket)) throw new TypeError(`invalid S3 bucket name "${bucket}"`);
}

/** Throws unless `endpoint` is an http(s) URL; returns it without trailing slashes. */
export function checkS3Endpoint(endpoint: string): string {
  let parsed: URL;
  try {
    parsed = new URL(endpoint);
  } catch {
    throw new TypeError(`the S3 endpoint must be an http(s) URL, got "${endpoint}"`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new TypeError('the S3 endpoint must be an http(s) URL');
  return endpoint.replace(/\/+$/, '');
}

/** The region from the standard AWS variables, or us-east-1. */
export function s3RegionFromEnv(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
}

/** Credentials, or where to get them when they are needed (they may expire and be renewed). */
export type S3CredentialSource = S3Credentials | (() => Promise<S3Credentials>);

/** Credentials from the standard AWS variables of the process's environment; `what` names the user in the error. */
export function s3CredentialsFromEnv(env: NodeJS.ProcessEnv = process.env, what = 'S3 result storage'): S3Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error(`${what} needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the worker environment`);
  }
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
}

/**
 * Credentials as every AWS SDK finds them: the access key variables of `env` when set, otherwise
 * the standard chain of this process — a shared config or credentials profile (`AWS_PROFILE`, SSO
 * and `credential_process` included), web identity (`AWS_ROLE_ARN` with
 * `AWS_WEB_IDENTITY_TOKEN_FILE`, as EKS service accounts give), the ECS/EKS container endpoint,
 * then EC2 instance metadata — via the AWS SDK's own provider chain, which also renews
 * credentials before they expire. The chain is asked at the first request, not here.
 */
export function s3Credentials(env: NodeJS.ProcessEnv = process.env, what = 'S3 result storage'): S3CredentialSource {
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) return s3CredentialsFromEnv(env, what);
  let chain: (() => Promise<S3Credentials>) | null = null;
  return async () => {
    if (!chain) {
      const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
      chain = defaultProvider();
    }
    try {
      const found = await chain();
      return {
        accessKeyId: found.accessKeyId,
        secretAccessKey: found.secretAccessKey,
        ...(found.sessionToken ? { sessionToken: found.sessionToken } : {}),
      };
    } catch (error) {
      throw new Error(
        `${what} found no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile (AWS_PROFILE), web identity (AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE), or run where container or instance metadata answers (${(error as Error).message})`,
      );
    }
  };
}

export class S3Error extends Error {
  override readonly name = 'S3Error';
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | null,
  ) {
    super(message);
  }
}

export interface S3ClientOptions {
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Retries of a 5xx, 429 or network failure. @default 3 */
  retries?: number;
}

/** An object read back: its bytes and its `x-amz-meta-*` headers. */
export interface S3Object {
  bytes: Uint8Array;
  meta: Record<string, string>;
}

/**
 * The few S3 calls Outpost needs (GET, PUT, server-side copy, DELETE of one object), signed with
 * Signature V4. Keys are relative to the location's prefix; paths are addressed path-style on an
 * endpoint, virtual-hosted on AWS.
 */
export class S3Client {
  private readonly retries: number;
  /** The signer for the credentials last used; made again when the source hands out new ones. */
  private signer: { aws: AwsClient; credentials: S3Credentials } | null = null;

  constructor(
    readonly location: S3Location,
    private readonly credentials: S3CredentialSource,
    private readonly options: S3ClientOptions = {},
  ) {
    checkS3Bucket(location.bucket);
    this.retries = options.retries ?? 3;
  }

  private async aws(): Promise<AwsClient> {
    const credentials = typeof this.credentials === 'function' ? await this.credentials() : this.credentials;
    const current = this.signer?.credentials;
    if (
      !this.signer ||
      current?.accessKeyId !== credentials.accessKeyId ||
      current?.secretAccessKey !== credentials.secretAccessKey ||
      current?.sessionToken !== credentials.sessionToken
    ) {
      const aws = new AwsClient({ ...credentials, service: 's3', region: this.location.region, retries: this.retries });
      this.signer = { aws, credentials };
    }
    return this.signer.aws;
  }

  /** The full object key of `key`: under the prefix. */
  objectKey(key: string): string {
    return this.location.prefix ? `${this.location.prefix}/${key}` : key;
  }

  /** `s3://bucket/prefix/key`: where an object is, for references and metadata. */
  uriOf(key: string): string {
    return `s3://${this.location.bucket}/${this.objectKey(key)}`;
  }

  private pathOf(key: string): string {
    return this.objectKey(key).split('/').map(encodeURIComponent).join('/');
  }

  private urlOf(key: string): string {
    const { endpoint, bucket, region } = this.location;
    return endpoint
      ? `${endpoint}/${bucket}/${this.pathOf(key)}`
      : `https://${bucket}.s3.${region}.amazonaws.com/${this.pathOf(key)}`;
  }

  private async send(key: string, init: RequestInit & { headers?: Record<string, string> }): Promise<Response> {
    // aws4fetch retries answers (5xx, 429) itself; connection failures are retried here.
    const aws = await this.aws();
    for (let i = 0; ; i++) {
      try {
        const request = await aws.sign(this.urlOf(key), init);
        return await (this.options.fetch ?? fetch)(request);
      } catch (error) {
        if (i >= this.retries) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** i));
      }
    }
  }

  private async fail(response: Response, what: string): Promise<never> {
    const text = await response.text().catch(() => '');
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? null;
    throw new S3Error(`S3 ${what} failed: ${response.status}${code ? ` ${code}` : ''}`, response.status, code);
  }

  /** The object under `key`, or null when there is none. */
  async get(key: string): Promise<S3Object | null> {
    const response = await this.send(key, { method: 'GET' });
    if (response.status === 404) {
      await response.body?.cancel();
      return null;
    }
    if (!response.ok) return this.fail(response, `GET ${this.objectKey(key)}`);
    const meta: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      if (name.startsWith('x-amz-meta-')) meta[name] = value;
    });
    return { bytes: new Uint8Array(await response.arrayBuffer()), meta };
  }

  /** Store `bytes` under `key`, replacing what was there; `meta` are `x-amz-meta-*` headers. */
  async put(key: string, bytes: Uint8Array, meta: Record<string, string> = {}): Promise<void> {
    const headers: Record<string, string> = {
      'content-type': 'application/octet-stream',
      // Signed, so the server rejects a body altered on the way.
      'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex'),
      ...meta,
    };
    const response = await this.send(key, {
      method: 'PUT',
      body: bytes as unknown as NonNullable<RequestInit['body']>,
      headers,
    });
    if (!response.ok) return this.fail(response, `PUT ${this.objectKey(key)}`);
    await response.body?.cancel();
  }

  /** Copy the object under `from` to `to` inside the bucket, on the server (the bytes never pass through here). */
  async copy(from: string, to: string): Promise<void> {
    const source = `/${this.location.bucket}/${this.pathOf(from)}`;
    const response = await this.send(to, { method: 'PUT', headers: { 'x-amz-copy-source': source } });
    // S3 can answer 200 with an error document when the copy fails late.
    const text = await response.text().catch(() => '');
    if (!response.ok || /<Error>/.test(text)) {
      const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? null;
      const status = response.ok ? 500 : response.status;
      throw new S3Error(
        `S3 copy ${this.objectKey(from)} → ${this.objectKey(to)} failed: ${status}${code ? ` ${code}` : ''}`,
        status,
        code,
      );
    }
  }

  /** Remove the object under `key`; removing one that is not there succeeds. */
  async delete(key: string): Promise<void> {
    const response = await this.send(key, { method: 'DELETE' });
    if (!response.ok && response.status !== 404) return this.fail(response, `DELETE ${this.objectKey(key)}`);
    await response.body?.cancel();
  }
}
