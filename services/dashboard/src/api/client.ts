import { Problem } from '@outpost/sdk/contracts';
import type { z } from 'zod';
import { documentCookie } from './cookies.js';
import { type Endpoint, type EndpointName, type Endpoints, endpoints } from './endpoints.js';

export const CSRF_COOKIE = 'outpost_csrf';
export const CSRF_HEADER = 'x-outpost-csrf';

type InputOf<T> = T extends z.ZodType ? z.input<T> : never;

/** What one call ended in. Calls never throw. */
export type ApiResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; kind: 'http_error'; status: number; problem: Problem | null }
  | { ok: false; kind: 'invalid_response'; status: number; message: string }
  | { ok: false; kind: 'network_error'; message: string };

export type ApiFailure = Exclude<ApiResult<unknown>, { ok: true }>;

export type ApiInput<N extends EndpointName> = (Endpoints[N] extends { params: infer P }
  ? { params: InputOf<P> }
  : { params?: undefined }) &
  (Endpoints[N] extends { query: infer Q } ? { query?: InputOf<Q> } : { query?: undefined }) &
  (Endpoints[N] extends { body: infer B } ? { body: InputOf<B> } : { body?: undefined }) & {
    headers?: Record<string, string>;
    signal?: AbortSignal;
    /** Leave a 401 to the caller instead of sending the user to sign in (the sign-in page itself). */
    allowUnauthenticated?: boolean;
  };

export type ApiOutput<N extends EndpointName> = Endpoints[N]['response'] extends z.ZodType
  ? z.output<Endpoints[N]['response']>
  : never;

export interface ApiClientOptions {
  /** Origin of the API; empty for the page's own origin. */
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Reads a script-visible cookie; `document.cookie` in the browser. */
  readCookie?: (name: string) => string | undefined;
  /** Called on any 401 not explicitly allowed: the session is gone, so the user must sign in again. */
  onUnauthenticated?: () => void;
}

const MUTATING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export function describeFailure(f: ApiFailure): string {
  switch (f.kind) {
    case 'http_error': {
      if (!f.problem) return `HTTP ${f.status}`;
      const fields = f.problem.errors?.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ');
      return `${f.problem.detail ?? f.problem.title}${fields ? ` (${fields})` : ''}`;
    }
    case 'invalid_response':
      return `Unexpected response from the API (HTTP ${f.status}): ${f.message}`;
    case 'network_error':
      return `Cannot reach the API: ${f.message}`;
  }
}

export function buildPath(path: string, params: Record<string, unknown> | undefined): string {
  return path.replace(/:([A-Za-z]+)/g, (_, key: string) => {
    const value = params?.[key];
    if (value === undefined || value === null) throw new TypeError(`missing path parameter "${key}"`);
    return encodeURIComponent(String(value));
  });
}

export function buildQuery(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null || v === '') continue;
    search.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

/**
 * Browser client for the Outpost API: same-origin cookies for the session, the CSRF cookie echoed
 * in a header on every mutation, and responses parsed with the shared contracts.
 */
export class ApiClient {
  readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly readCookie: (name: string) => string | undefined;
  private readonly onUnauthenticated: () => void;

  constructor(options: ApiClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.readCookie = options.readCookie ?? documentCookie;
    this.onUnauthenticated = options.onUnauthenticated ?? (() => {});
  }

  url(path: string): string {
    return `${this.baseUrl}/api/v1${path}`;
  }

  async call<N extends EndpointName>(name: N, input: ApiInput<N>): Promise<ApiResult<ApiOutput<N>>> {
    const def: Endpoint = endpoints[name];
    const raw = input as {
      params?: Record<string, unknown>;
      query?: Record<string, unknown>;
      body?: unknown;
      headers?: Record<string, string>;
      signal?: AbortSignal;
      allowUnauthenticated?: boolean;
    };
    let url: string;
    try {
      url = this.url(buildPath(def.path, raw.params) + buildQuery(raw.query));
    } catch (error) {
      return { ok: false, kind: 'network_error', message: (error as Error).message };
    }
    const headers: Record<string, string> = { accept: 'application/json', ...raw.headers };
    if (MUTATING.has(def.method)) {
      const csrf = this.readCookie(CSRF_COOKIE);
      if (csrf) headers[CSRF_HEADER] = csrf;
    }
    let body: string | undefined;
    if (raw.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(raw.body);
    }
    let res: Response;
    let text: string;
    try {
      res = await this.fetchImpl(url, {
        method: def.method,
        headers,
        body,
        credentials: 'same-origin',
        cache: 'no-store',
        signal: raw.signal,
      });
      text = await res.text();
    } catch (error) {
      return { ok: false, kind: 'network_error', message: (error as Error).message };
    }
    if (res.status >= 400) {
      let problem: Problem | null = null;
      try {
        const parsed = Problem.safeParse(JSON.parse(text));
        if (parsed.success) problem = parsed.data;
      } catch {
        // a non-JSON error page (from a proxy, say) leaves problem null
      }
      if (res.status === 401 && !raw.allowUnauthenticated) this.onUnauthenticated();
      return { ok: false, kind: 'http_error', status: res.status, problem };
    }
    let json: unknown = null;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, kind: 'invalid_response', status: res.status, message: 'body is not JSON' };
      }
    }
    const parsed = def.response.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue ? `${issue.path.join('.') || '(root)'}: ${issue.message}` : 'does not match the contract';
      return { ok: false, kind: 'invalid_response', status: res.status, message: where };
    }
    return { ok: true, status: res.status, data: parsed.data as ApiOutput<N> };
  }
}
