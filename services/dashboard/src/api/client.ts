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
import { CSRF_COOKIE, CSRF_HEADER, type RouteName } from '@outpost/sdk/contracts';
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

  async call<N extends RouteName>(name: N, input: ApiInput<N>): Promise<ApiResult<CallOutput<N>>> {
    const { signal, allowUnauthenticated, ...request } = input;
    const raw = request as { query?: Record<string, unknown> };
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
