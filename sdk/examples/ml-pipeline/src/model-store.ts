import { createHmac, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve, sep } from 'node:path';

/**
 * A model store reached over HTTP inside your network: `PUT <store>/<path>` stores a file,
 * `GET <store>/<path>` returns it. Uploads carry an HMAC-SHA256 of their body made with the
 * signing key the pipeline gets as a secret, so the store takes only what this pipeline made,
 * and a consumer holding the key can check a download the same way.
 */
export const SIGNATURE_HEADER = 'x-content-signature';

export function signBytes(key: string, body: Uint8Array | string): string {
  return createHmac('sha256', key).update(body).digest('hex');
}

function signatureMatches(key: string, body: Uint8Array, given: string | undefined): boolean {
  if (!given || !/^[a-f0-9]{64}$/.test(given)) return false;
  return timingSafeEqual(Buffer.from(signBytes(key, body), 'hex'), Buffer.from(given, 'hex'));
}

/** Uploads one file; returns its URL. Throws on any answer but 201, so a task retry can try again. */
export async function uploadToModelStore(
  storeUrl: string,
  path: string,
  body: string,
  options: { key: string; contentType: string; signal?: AbortSignal },
): Promise<string> {
  const url = new URL(path, storeUrl.endsWith('/') ? storeUrl : `${storeUrl}/`).href;
  const response = await fetch(url, {
    method: 'PUT',
    body,
    headers: { 'content-type': options.contentType, [SIGNATURE_HEADER]: signBytes(options.key, body) },
    ...(options.signal ? { signal: options.signal } : {}),
  });
  await response.body?.cancel();
  if (response.status !== 201) throw new Error(`the model store answered ${response.status} to PUT ${url}`);
  return url;
}

export interface LocalModelStore {
  url: string;
  close(): Promise<void>;
}

/**
 * A minimal model store on 127.0.0.1 that keeps files under `dir`: enough to run the pipeline end
 * to end on one machine (the script and the tests use it). Anything real — an object store behind
 * a gateway, an artifact registry — only needs to accept the same signed PUT.
 */
export async function startLocalModelStore(dir: string, key: string): Promise<LocalModelStore> {
  const root = resolve(dir);
  const server: Server = createServer((req, res) => {
    void (async () => {
      const relative = decodeURIComponent(new URL(req.url ?? '/', 'http://store').pathname).replace(/^\/+/, '');
      const file = resolve(root, relative);
      if (!relative || !file.startsWith(`${root}${sep}`)) {
        res.writeHead(400).end('bad path');
        return;
      }
      if (req.method === 'GET') {
        const content = await readFile(file).catch(() => null);
        if (content) res.writeHead(200).end(content);
        else res.writeHead(404).end('not found');
        return;
      }
      if (req.method !== 'PUT') {
        res.writeHead(405).end('use GET or PUT');
        return;
      }
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = Buffer.concat(chunks);
      const signature = req.headers[SIGNATURE_HEADER];
      if (!signatureMatches(key, body, typeof signature === 'string' ? signature : undefined)) {
        res.writeHead(403).end('signature does not match');
        return;
      }
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, body);
      res.writeHead(201).end();
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/models/`,
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      }),
  };
}

/** Where the store keeps a file it was sent under `path` (for tests and the local script). */
export function storedFile(dir: string, storeUrl: string, path: string): string {
  const prefix = new URL(storeUrl).pathname.replace(/^\/+/, '');
  return join(dir, prefix, path);
}
