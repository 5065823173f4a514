import type { TestServer } from '../src/testing/index.js';
import { type Reply, replyOf } from './helpers.js';

export interface BrowserSession {
  /** The Cookie header a browser would send. */
  cookie: string;
  session: string;
  csrf: string;
  /** Every Set-Cookie of the sign-in response. */
  setCookies: string[];
  reply: Reply;
}

/** The value a Set-Cookie header gives the named cookie, or undefined. */
export function cookieValue(setCookies: string[], name: string): string | undefined {
  const line = setCookies.find((c) => c.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(';')[0];
}

/** POST /api/v1/auth/session with a body, as the sign-in page does. */
export async function signIn(
  server: Pick<TestServer, 'app'>,
  body: unknown,
  options: { url?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  const res = await server.app.request(options.url ?? '/api/v1/auth/session', {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    body: JSON.stringify(body),
  });
  return replyOf(res);
}

/** Signs in and returns the cookies a browser would keep; fails the test when sign-in fails. */
export async function openBrowserSession(server: Pick<TestServer, 'app'>, body: unknown): Promise<BrowserSession> {
  const res = await signIn(server, body);
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${res.text}`);
  const setCookies = res.headers.getSetCookie();
  const session = cookieValue(setCookies, 'outpost_session');
  const csrf = cookieValue(setCookies, 'outpost_csrf');
  if (!session || !csrf) throw new Error(`sign-in set no cookies: ${setCookies.join(' | ')}`);
  return { cookie: `outpost_session=${session}; outpost_csrf=${csrf}`, session, csrf, setCookies, reply: res };
}

/** Calls the app in-process with a browser's cookies (and whatever headers the test adds). */
export function browser(server: Pick<TestServer, 'app'>, cookie: string) {
  return async (
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<Reply> => {
    const headers: Record<string, string> = { cookie, ...options.headers };
    let body: string | undefined;
    if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] = 'application/json';
    }
    return replyOf(await server.app.request(`/api/v1${path}`, { method, headers, body }));
  };
}
