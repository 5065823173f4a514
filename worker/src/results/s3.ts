import {
  checkS3Bucket,
  checkS3Endpoint,
  S3Client,
  type S3ClientOptions,
  type S3CredentialSource,
  S3Error,
  type S3Location,
  s3Credentials,
  s3RegionFromEnv,
} from '@outpost/sdk/runtime';

/*
 * Task results in an S3-compatible bucket of the customer's, through the SDK's S3 client (aws4fetch,
 * Signature V4), the same one the `s3IO` asset I/O manager uses.
 */

export type { S3CredentialSource, S3Location };
export { S3Error };

/** The shape `@outpost/sdk/runtime` expects of a result store (see its result-storage module). */
export interface ResultStorage {
  read(key: string): Promise<Uint8Array | null>;
  write(key: string, bytes: Uint8Array, meta: { expiresAt: Date | null }): Promise<{ ref: string }>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
const EXPIRES_HEADER = 'x-amz-meta-outpost-expires-at';

/** `s3://bucket/prefix?endpoint=http://127.0.0.1:9000&region=eu-west-1`. */
export function parseS3Url(url: URL | string, env: NodeJS.ProcessEnv = process.env): S3Location {
  const parsed = typeof url === 'string' ? new URL(url) : url;
  if (parsed.protocol !== 's3:') throw new TypeError(`not an s3:// URL: ${parsed.protocol}`);
  const bucket = parsed.hostname;
  checkS3Bucket(bucket);
  const prefix = decodeURIComponent(parsed.pathname).replace(/^\/+|\/+$/g, '');
  const endpoint = parsed.searchParams.get('endpoint');
  const region = parsed.searchParams.get('region') || s3RegionFromEnv(env);
  return { bucket, prefix, endpoint: endpoint ? checkS3Endpoint(endpoint) : null, region };
}

export interface S3StorageOptions extends S3ClientOptions {
  /** @default () => new Date() */
  now?: () => Date;
}

export function s3ResultStorage(
  location: S3Location,
  credentials: S3CredentialSource,
  options: S3StorageOptions = {},
): ResultStorage {
  const client = new S3Client(location, credentials, options);
  const now = options.now ?? (() => new Date());
  const checked = (key: string) => {
    if (!KEY.test(key)) throw new TypeError(`invalid result key '${key}'`);
    return key;
  };
  return {
    async read(key) {
      const object = await client.get(checked(key));
      if (!object) return null;
      const expires = object.meta[EXPIRES_HEADER];
      if (expires && Date.parse(expires) <= now().getTime()) return null;
      return object.bytes;
    },
    async write(key, bytes, meta) {
      await client.put(checked(key), bytes, meta.expiresAt ? { [EXPIRES_HEADER]: meta.expiresAt.toISOString() } : {});
      return { ref: client.uriOf(key) };
    },
  };
}

/** The storage an `s3://` URL names, with credentials from the environment. */
export function s3ResultStorageFromUrl(url: URL | string, env: NodeJS.ProcessEnv = process.env): ResultStorage {
  return s3ResultStorage(parseS3Url(url, env), s3Credentials(env));
}
