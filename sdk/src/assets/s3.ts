import {
  checkS3Bucket,
  checkS3Endpoint,
  S3Client,
  type S3CredentialSource,
  s3Credentials,
  s3RegionFromEnv,
} from '../runtime/s3-client.js';
import {
  AssetValueMissingError,
  assetObjectPath,
  type FileFormat,
  type IOContext,
  type IOManager,
  jsonFormat,
  type StoreResult,
  sha256Bytes,
  stageName,
  toBytes,
} from './io.js';

export interface S3IOOptions<T> {
  bucket: string;
  /** Key prefix for every object, e.g. `warehouse/prod`. @default '' */
  prefix?: string;
  /** `http(s)://host:port` of an S3-compatible server (MinIO, Ceph RGW…), addressed path-style. @default AWS */
  endpoint?: string;
  /** @default AWS_REGION, AWS_DEFAULT_REGION or us-east-1 */
  region?: string;
  /** @default JSON */
  format?: FileFormat<T>;
  /**
   * @default AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN of the flow's environment,
   * read when the first object is read or written (so defining an asset never needs them).
   */
  credentials?: S3CredentialSource;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

/**
 * Asset values as objects in an S3-compatible bucket of yours:
 * `<prefix>/<asset key>/partition=<key>/data.json`, signed with Signature V4 (the same client as
 * the worker's S3 result storage). The data version is the sha256 of the bytes. Write-audit-publish
 * stages under `<asset key>/.staging/<run>.<attempt>/`, and publishes with a server-side copy.
 * @example
 * const lake = s3IO({ bucket: 'acme-lake', prefix: 'assets', region: 'eu-central-1' });
 * export const events = asset({ key: 'raw/events', io: lake }, loadEvents);
 */
// biome-ignore lint/suspicious/noExplicitAny: holds any JSON value unless told which.
export function s3IO<T = any>(options: S3IOOptions<T>): IOManager<T> {
  checkS3Bucket(options.bucket);
  const endpoint = options.endpoint === undefined ? null : checkS3Endpoint(options.endpoint);
  const prefix = (options.prefix ?? '').replace(/^\/+|\/+$/g, '');
  const format = options.format ?? (jsonFormat as FileFormat<T>);
  let client: S3Client | null = null;
  const s3 = () => {
    client ??= new S3Client(
      { bucket: options.bucket, prefix, endpoint, region: options.region ?? s3RegionFromEnv() },
      options.credentials ?? s3Credentials(process.env, 's3IO'),
      options.fetch ? { fetch: options.fetch } : {},
    );
    return client;
  };
  const keyOf = (ctx: IOContext, stage?: string) => assetObjectPath(ctx, format.extension, stage);

  const write = async (ctx: IOContext, value: T, key: string): Promise<StoreResult> => {
    const bytes = toBytes(format.encode(value));
    await s3().put(key, bytes);
    return { dataVersion: sha256Bytes(bytes), metadata: { bytes: bytes.byteLength, uri: s3().uriOf(keyOf(ctx)) } };
  };
  const read = async (ctx: IOContext, key: string): Promise<T> => {
    const object = await s3().get(key);
    if (!object) throw new AssetValueMissingError(ctx.assetKey, ctx.partitionKey, s3().uriOf(key));
    return format.decode(object.bytes);
  };

  return {
    kind: 's3',
    store: (ctx, value) => write(ctx, value, keyOf(ctx)),
    load: (ctx) => read(ctx, keyOf(ctx)),
    stage: (ctx, value) => write(ctx, value, keyOf(ctx, stageName(ctx))),
    loadStaged: (ctx) => read(ctx, keyOf(ctx, stageName(ctx))),
    async publish(ctx) {
      await s3().copy(keyOf(ctx, stageName(ctx)), keyOf(ctx));
      await s3().delete(keyOf(ctx, stageName(ctx)));
    },
    async discardStaged(ctx) {
      await s3().delete(keyOf(ctx, stageName(ctx)));
    },
  };
}
