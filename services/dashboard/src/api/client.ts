import {
  type CallFailure,
  type CallInput,
  type CallOutput,
  type CallResult,
  ClientCore,
  describeFieldErrors,
  type FetchLike,
  fetchTransport,
  type RouteUrlInput,
} from '@outpost/sdk/client-core';
import { CSRF_COOKIE, CSRF_HEADER, type RouteName, routes } from '@outpost/sdk/contracts';
import { documentCookie } from './cookies.js';

/** What one call ended in. Calls never throw. */
export type ApiResult<T> = CallResult<T>;
export type ApiFailure = CallFailure;

export type ApiInput<N extends RouteName> = CallInput<N> & {
  signal?: AbortSignal;
  /** Leave a 401 to the caller instead of sending the user to sign in (the sign-in page itself). */
  allowUnauthenticated?: boolean;
};

export interface ApiClientOptions {
  /** Origin of the API; empty for the page's own origin. */
  baseUrl?: string;
  fetch?: FetchLike;
  /** Reads a script-visible cookie; `document.cookie` in the browser. */
  readCookie?: (name: string) => string | undefined;
  /** Called on any 401 not explicitly allowed: the session is gone, so the user must sign in again. */
  onUnauthenticated?: () => void;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** A prefetched answer no page asked for within this long is dropped: the page reads afresh. */
const PREFETCH_KEPT_MS = 10_000;

/** A failure in words for the person at the page: the problem's detail before its title, field errors after. */
export function describeFailure(f: ApiFailure): string {
  switch (f.kind) {
    case 'http_error': {
      if (!f.problem) return `HTTP ${f.status}`;
      const fields = describeFieldErrors(f.problem);
      return `${f.problem.detail ?? f.problem.title}${fields ? ` (${fields})` : ''}`;
    }
    case 'invalid_response':
      return `Unexpected response from the API (HTTP ${f.status}): ${f.message}`;
    case 'network_error':
      return `Cannot reach the API: ${f.message}`;
  }
}

/**
 * A 404 as an answer ('missing': no such thing, or a redeploy removed it) instead of a failure to
 * show, for a page about one thing that may be gone.
 */
export function missingOn404<T>(result: ApiResult<T>): ApiResult<T | 'missing'> {
  return !result.ok && result.kind === 'http_error' && result.status === 404
    ? { ok: true, status: 404, data: 'missing' }
    : result;
}

/** A query without its blank values: an empty filter field means "any", not "equal to the empty string". */
function withoutBlanks<Q>(query: Q): Q {
  if (!query) return query;
  return Object.fromEntries(Object.entries(query).filter(([, v]) => v !== '')) as Q;
}

/**
 * Browser client for the Outpost API, the SDK's client core over `fetch`: same-origin cookies for
 * the session, the CSRF cookie echoed in a header on every mutation, and a 401 sending the user to
 * sign in again.
 */
export class ApiClient {
  readonly baseUrl: string;
  private readonly core: ClientCore;
  private readonly onUnauthenticated: () => void;
  /** Reads started ahead of the page that makes them (`prefetch`), by URL. */
  private readonly prefetched = new Map<string, Promise<ApiResult<unknown>>>();

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    const readCookie = options.readCookie ?? documentCookie;
    this.onUnauthenticated = options.onUnauthenticated ?? (() => {});
    this.core = new ClientCore({
      baseUrl: this.baseUrl,
      transport: fetchTransport({ fetch: options.fetch, init: { credentials: 'same-origin', cache: 'no-store' } }),
      requestHeaders: (method): Record<string, string> => {
        const csrf = MUTATING.has(method) ? readCookie(CSRF_COOKIE) : undefined;
        return csrf ? { [CSRF_HEADER]: csrf } : {};
      },
    });
  }

  /** The URL of a route that is not one JSON call: the event stream, a download link. */
  url<N extends RouteName>(name: N, input: RouteUrlInput<N>): string {
    const raw = input as { params?: unknown; query?: Record<string, unknown> };
    return this.core.url(name, { ...raw, query: withoutBlanks(raw.query) } as RouteUrlInput<N>);
  }

  /**
   * Starts a read that a page is about to make, while the page's code is still loading (see
   * first-reads.ts): the first call of the same read to the same URL within PREFETCH_KEPT_MS takes
   * this answer instead of asking again.
   */
  prefetch<N extends RouteName>(name: N, input: ApiInput<N>): void {
    if (routes[name].method !== 'GET') return;
    const key = this.url(name, input as RouteUrlInput<N>);
    const result: Promise<ApiResult<unknown>> = this.call(name, input);
    this.prefetched.set(key, result);
    setTimeout(() => {
      if (this.prefetched.get(key) === result) this.prefetched.delete(key);
    }, PREFETCH_KEPT_MS);
  }

  async call<N extends RouteName>(name: N, input: ApiInput<N>): Promise<ApiResult<CallOutput<N>>> {
    const { signal, allowUnauthenticated, ...request } = input;
    const raw = request as { query?: Record<string, unknown> };
    if (this.prefetched.size > 0 && routes[name].method === 'GET') {
      const key = this.url(name, request as RouteUrlInput<N>);
      const early = this.prefetched.get(key);
      if (early) {
        this.prefetched.delete(key);
        return early as Promise<ApiResult<CallOutput<N>>>;
      }
    }
    let result: ApiResult<CallOutput<N>>;
    try {
      result = await this.core.call(name, { ...request, query: withoutBlanks(raw.query) } as CallInput<N>, { signal });
    } catch (error) {
      // the core throws only for a path parameter the caller left out; the page shows it like any failure
      return { ok: false, kind: 'network_error', message: (error as Error).message, cause: error };
    }
    if (!result.ok && result.kind === 'http_error' && result.status === 401 && !allowUnauthenticated) {
      this.onUnauthenticated();
    }
    return result;
  }
}
