import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';

/**
 * An HTTP server on 127.0.0.1 answering with `handler`, started before the file's tests and closed
 * after them: a stand-in for the API the client under test calls. Read `url` inside a test or hook.
 */
export function serveForTests(handler: RequestListener): { readonly url: string } {
  let server: Server | undefined;
  let url: string | undefined;
  beforeAll(async () => {
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve, reject) => server?.close((e) => (e ? reject(e) : resolve())));
  });
  return {
    get url() {
      if (url === undefined) throw new Error('the server is not started yet: use it inside a test or hook');
      return url;
    },
  };
}
