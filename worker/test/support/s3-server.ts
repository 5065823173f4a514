import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LoopbackServer } from './loopback-server.js';

/*
 * A minimal S3-compatible object server on 127.0.0.1: path-style PUT, GET and DELETE of objects
 * with their x-amz-meta-* headers, server-side copy (PUT with x-amz-copy-source), and a Signature V4 check written here from AWS's specification — so the
 * client's signing is verified by an implementation other than its own. No S3 server that checks
 * V4 signatures could be installed for the tests (Debian ships none; s3rver, the npm one, leaves
 * V4 signatures unchecked).
 */

interface StoredObject {
  body: Buffer;
  meta: Record<string, string>;
}

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');
const hmac = (key: Buffer | string, data: string) => createHmac('sha256', key).update(data).digest();

/** RFC 3986 encoding as SigV4 wants it for query components. */
function encode(text: string): string {
  return encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export class S3TestServer extends LoopbackServer {
  readonly objects = new Map<string, StoredObject>();
  /** Requests refused for their signature. */
  refused = 0;

  constructor(
    private readonly credentials: { accessKeyId: string; secretAccessKey: string },
    private readonly buckets: string[],
  ) {
    super();
  }

  protected override failed(res: ServerResponse, error: unknown): void {
    this.error(res, 500, 'InternalError', String(error));
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const problem = this.verify(req, body);
    if (problem) {
      this.refused++;
      return this.error(res, 403, problem, 'The request signature we calculated does not match the signature you provided.');
    }
    const url = new URL(req.url ?? '/', 'http://localhost');
    const [, bucket, ...rest] = url.pathname.split('/');
    if (!bucket || !this.buckets.includes(decodeURIComponent(bucket))) return this.error(res, 404, 'NoSuchBucket', 'no bucket');
    const key = `${decodeURIComponent(bucket)}/${rest.map(decodeURIComponent).join('/')}`;
    if (req.method === 'PUT' && typeof req.headers['x-amz-copy-source'] === 'string') {
      const from = decodeURIComponent(req.headers['x-amz-copy-source'].replace(/^\//, ''));
      const source = this.objects.get(from);
      if (!source) return this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      this.objects.set(key, { body: Buffer.from(source.body), meta: { ...source.meta } });
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end('<?xml version="1.0" encoding="UTF-8"?>\n<CopyObjectResult><ETag>"x"</ETag></CopyObjectResult>');
      return;
    }
    if (req.method === 'DELETE') {
      this.objects.delete(key);
      res.writeHead(204);
      res.end();
      return;
    }
    if (req.method === 'PUT') {
      const meta: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (name.startsWith('x-amz-meta-') && typeof value === 'string') meta[name] = value;
      }
      this.objects.set(key, { body, meta });
      res.writeHead(200, { etag: `"${createHash('md5').update(body).digest('hex')}"` });
      res.end();
      return;
    }
    if (req.method === 'GET') {
      const object = this.objects.get(key);
      if (!object) return this.error(res, 404, 'NoSuchKey', 'The specified key does not exist.');
      res.writeHead(200, { 'content-type': 'application/octet-stream', ...object.meta });
      res.end(object.body);
      return;
    }
    this.error(res, 405, 'MethodNotAllowed', 'only GET, PUT and DELETE');
  }

  /** Null when the request carries a valid Signature V4 for the known key, else the S3 error code. */
  private verify(req: IncomingMessage, body: Buffer): string | null {
    const auth = req.headers.authorization ?? '';
    const match =
      /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(
        auth,
      );
    if (!match) return 'AccessDenied';
    const [, accessKeyId, date, region, signedHeaders, signature] = match as unknown as string[];
    if (accessKeyId !== this.credentials.accessKeyId) return 'InvalidAccessKeyId';
    const amzDate = String(req.headers['x-amz-date'] ?? '');
    if (!amzDate.startsWith(date!)) return 'AccessDenied';
    const when = Date.parse(amzDate.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
    if (!Number.isFinite(when) || Math.abs(Date.now() - when) > 15 * 60_000) return 'RequestTimeTooSkewed';
    const payloadHash = String(req.headers['x-amz-content-sha256'] ?? '');
    if (payloadHash !== 'UNSIGNED-PAYLOAD' && payloadHash !== sha256(body)) return 'XAmzContentSHA256Mismatch';
    const names = signedHeaders!.split(';');
    if (!names.includes('host') || !names.includes('x-amz-date')) return 'AccessDenied';
    const url = new URL(req.url ?? '/', 'http://localhost');
    const query = [...url.searchParams.entries()]
      .map(([k, v]) => [encode(k), encode(v)] as const)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${k}=${v}`)
      .join('&');
    const headers = names
      .map(
        (name) =>
          `${name}:${String(req.headers[name] ?? '')
            .trim()
            .replace(/\s+/g, ' ')}\n`,
      )
      .join('');
    const canonical = [req.method, url.pathname, query, headers, signedHeaders, payloadHash].join('\n');
    const scope = `${date}/${region}/s3/aws4_request`;
    const toSign = ['AWS4-HMAC-SHA256', amzDate, scope, sha256(canonical)].join('\n');
    const key = hmac(hmac(hmac(hmac(`AWS4${this.credentials.secretAccessKey}`, date!), region!), 's3'), 'aws4_request');
    const expected = createHmac('sha256', key).update(toSign).digest();
    return timingSafeEqual(expected, Buffer.from(signature!, 'hex')) ? null : 'SignatureDoesNotMatch';
  }

  private error(res: ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'content-type': 'application/xml' });
    res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message></Error>`);
  }
}
