import { createHash } from 'node:crypto';
import { AwsClient } from 'aws4fetch';

/*
 * Task results in an S3-compatible bucket of the customer's (AWS S3, MinIO, Ceph RGW, Garage…),
 * spoken to with aws4fetch: Signature V4 over the platform's fetch, with no dependencies and a few
 * kilobytes of code. The official @aws-sdk/client-s3 would load several megabytes into every flow
 * process at start for the two calls needed here (PUT and GET of one object).
 */

/** The shape `@outpost/sdk/runtime` expects of a result store (see its result-storage module). */
export interface ResultStorage {
  read(key: string): Promise<Uint8Array | null>;
  write(key: string, bytes: Uint8Array, meta: { expiresAt: Date | null }): Promise<{ ref: string }>;
}

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

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const EXPIRES_HEADER = 'x-amz-meta-outpost-expires-at';

/** `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1`. */
export function parseS3Url(url: URL | string, env: NodeJS.ProcessEnv = process.env): S3Location {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.protocol !== 's3:') throw new TypeError(`not an s3:// URL: ${parsed.protocol}`);
  const bucket = parsed.hostname;
  if (!BUCKET.test(bucket)) throw new TypeError(`invalid S3 bucket name "${bucket}"`);
  const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
  const endpoint = parsed.searchParams.get('endpoint');
  if (endpoint !== null) {
    const e = new URL(endpoint);
    if (e.protocol !== 'http:' && e.protocol !== 'https:') throw new TypeError('the S3 endpoint must be an http(s) URL');
  }
  const region = parsed.searchParams.get('region') || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  return { bucket, prefix, endpoint: endpoint ? endpoint.replace(/\/+$/, '') : null, region };
}

/** Credentials from the standard AWS variables of the process's environment. */
export function s3CredentialsFromEnv(env: NodeJS.ProcessEnv = process.env): S3Credentials {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) {
    throw new Error('S3 result storage needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the worker environment');
  }
  return { accessKeyId, secretAccessKey, ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}) };
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

export interface S3StorageOptions {
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Retries of a 5xx, 429 or network failure. @default 3 */
  retries?: number;
  /** @default () => new Date() */
  now?: () => Date;
}

export function s3ResultStorage(location: S3Location, credentials: S3Credentials, options: S3StorageOptions = {}): ResultStorage {
  const client = new AwsClient({
    ...credentials,
    service: 's3',
    region: location.region,
    retries: options.retries ?? 3,
  });
  const now = options.now ?? (() => new Date());
  const objectKey = (key: string) => {
    if (!KEY.test(key)) throw new TypeError(`invalid result key '${key}'`);
    return location.prefix ? `${location.prefix}/${key}` : key;
  };
  const urlOf = (key: string) => {
    const path = objectKey(key).split('/').map(encodeURIComponent).join('/');
    return location.endpoint
      ? `${location.endpoint}/${location.bucket}/${path}`
      : `https://${location.bucket}.s3.${location.region}.amazonaws.com/${path}`;
  };
  const send = async (url: string, init: RequestInit & { headers?: Record<string, string> }) => {
    const request = await client.sign(url, init);
    return (options.fetch ?? fetch)(request);
  };
  const fail = async (response: Response, what: string): Promise<never> => {
    const text = await response.text().catch(() => '');
    const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? null;
    throw new S3Error(`S3 ${what} failed: ${response.status}${code ? ` ${code}` : ''}`, response.status, code);
  };
  return {
    async read(key) {
      const response = await withRetries(options.retries ?? 3, () => send(urlOf(key), { method: 'GET' }));
      if (response.status === 404) {
        await response.body?.cancel();
        return null;
      }
      if (!response.ok) return fail(response, `GET ${objectKey(key)}`);
      const expires = response.headers.get(EXPIRES_HEADER);
      const bytes = new Uint8Array(await response.arrayBuffer());
      if (expires && Date.parse(expires) <= now().getTime()) return null;
      return bytes;
    },
    async write(key, bytes, meta) {
      const headers: Record<string, string> = {
        'content-type': 'application/octet-stream',
        // Signed, so the server rejects a body altered on the way.
        'x-amz-content-sha256': createHash('sha256').update(bytes).digest('hex'),
      };
      if (meta.expiresAt) headers[EXPIRES_HEADER] = meta.expiresAt.toISOString();
      const response = await withRetries(options.retries ?? 3, () =>
        send(urlOf(key), { method: 'PUT', body: bytes as unknown as NonNullable<RequestInit['body']>, headers }),
      );
      if (!response.ok) return fail(response, `PUT ${objectKey(key)}`);
      await response.body?.cancel();
      return { ref: `s3://${location.bucket}/${objectKey(key)}` };
    },
  };
}

/** aws4fetch retries answers (5xx, 429) itself; this adds retries of connection failures. */
async function withRetries(retries: number, attempt: () => Promise<Response>): Promise<Response> {
  for (let i = 0; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      if (i >= retries) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** i));
    }
  }
}

/** The storage an `s3://` URL names, with credentials from the environment. */
export function s3ResultStorageFromUrl(url: URL | string, env: NodeJS.ProcessEnv = process.env): ResultStorage {
  return s3ResultStorage(parseS3Url(url, env), s3CredentialsFromEnv(env));
}
