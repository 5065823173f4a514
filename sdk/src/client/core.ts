/**
 * The typed client core: calls any route of the shared route table, parses the answer with the
 * route's contract and reports every outcome as a value. It runs anywhere `fetch` does — a browser
 * page, a worker, Node — because everything environment-specific comes in from outside: the
 * transport that moves the bytes and the headers that carry the credential. Nothing here may import
 * a Node built-in or a Node-only package; a test bundles this module for the browser to keep it so.
 */
import { codeForStatus, ErrorCode, Problem } from '../contracts/common.js';
import { type RouteDef, type RouteName, type Routes, routes, servedPath } from '../contracts/routes.js';
import { CLIENT_VERSION_HEADER, SERVER_VERSION_HEADER } from '../contracts/versions.js';
import { parseAnswer, type UnknownValue } from './answers.js';

export type { UnknownValue } from './answers.js';

// A route's schemas are zod types: read their sides through `_zod`, as z.output and z.input do,
// rather than asking `T extends z.ZodType`, which compares two large classes member by member.
type Infer<T> = T extends { _zod: { output: infer O } } ? O : never;
type InputOf<T> = T extends { _zod: { input: infer I } } ? I : never;

/** What one call to the API ended in. Calls never throw; `unwrap()` turns failures into an error. */
export type CallResult<T> =
  | { ok: true; status: number; data: T }
  | { ok: false; kind: 'http_error'; status: number; problem: Problem | null; retryAfterMs: number | null }
  | { ok: false; kind: 'invalid_response'; status: number; message: string }
  | { ok: false; kind: 'network_error'; message: string; cause: unknown };

export type CallFailure = Exclude<CallResult<unknown>, { ok: true }>;

export type CallInput<N extends RouteName> = (Routes[N] extends { params: infer P }
  ? { params: InputOf<P> }
  : { params?: undefined }) &
  (Routes[N] extends { query: infer Q } ? { query?: InputOf<Q> } : { query?: undefined }) &
  (Routes[N] extends { body: infer B } ? { body: InputOf<B> } : { body?: undefined }) & {
    headers?: Record<string, string>;
  };

export type CallOutput<N extends RouteName> = Infer<Routes[N]['response']>;

/** What locates a route without calling it: its path parameters and query. */
export type RouteUrlInput<N extends RouteName> = Pick<CallInput<N>, 'params' | 'query'>;

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call (long-polls add their wait). */
  timeoutMs?: number;
}

export type HttpMethod = RouteDef['method'];

/** One HTTP exchange as the core asks for it. */
export interface TransportRequest {
  url: string;
  method: HttpMethod;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal;
}

/** The answer a transport hands back: the status, a header reader and the whole body as text. */
export interface TransportResponse {
  status: number;
  header(name: string): string | undefined;
  text: string;
}

/** Moves one request over the wire; a rejection (refused connection, abort) is a network error. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** Which Outpost client is calling: sent on every request as `outpost-version` and the user agent `outpost-<name>/<version>`. */
export interface ClientIdentity {
  /** `cli`, `worker` or `sdk`. */
  name: string;
  /** The calling package's own version, e.g. `0.2.0`. */
  version: string;
}

/** The headers that tell the API which client and version is calling (docs/versions.md). */
export function identityHeaders(identity: ClientIdentity): Record<string, string> {
  return { [CLIENT_VERSION_HEADER]: identity.version, 'user-agent': `outpost-${identity.name}/${identity.version}` };
}

export interface ClientCoreOptions {
  /** Origin of the API, e.g. `http://127.0.0.1:4200`; empty for the page's own origin. */
  baseUrl: string;
  transport: Transport;
  /** Headers for every request of `method`, read per call (a credential, a CSRF token); the caller's own win. */
  requestHeaders?: (method: HttpMethod) => Record<string, string>;
  /** Per-request timeout in milliseconds, on top of any long-poll wait; none when absent. */
  timeoutMs?: number;
  /**
   * The client sending the requests, for version negotiation: without it no version is sent and the
   * API serves the request as it serves curl (the dashboard, served by its own server, sends none).
   */
  identity?: ClientIdentity;
  /** Told of the `outpost-server-version` of every answer (null when it carries none: a server before 0.2.0, a proxy). */
  onServerVersion?: (version: string | null, status: number) => void;
  /**
   * Told of the enum values an answer carried that this client does not know (a newer server's
   * state type, say), kept in the data as the strings they are: a worker warns of them.
   */
  onUnknownValues?: (route: RouteName, values: UnknownValue[]) => void;
}

/** What a fetch transport may fix for every request, with the meaning `fetch` gives them. */
export interface FetchDefaults {
  credentials?: 'omit' | 'same-origin' | 'include';
  cache?: 'default' | 'no-store' | 'reload' | 'no-cache' | 'force-cache' | 'only-if-cached';
}

/**
 * The part of `fetch` the transport uses, spelled out so the browser's and Node's `fetch` both fit
 * whichever set of global types the caller compiles with.
 */
export type FetchLike = (
  url: string,
  init: FetchDefaults & { method: string; headers: Record<string, string>; body: string | undefined; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

/** A transport over the standard `fetch`: the global one unless another is given. */
export function fetchTransport(options: { fetch?: FetchLike; init?: FetchDefaults } = {}): Transport {
  // Looked up per call, not captured, so a page or test that swaps the global fetch later is honoured.
  const fetchImpl: FetchLike = options.fetch ?? ((url, init) => globalThis.fetch(url, init as RequestInit));
  return async (request) => {
    const res = await fetchImpl(request.url, {
      ...options.init,
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
    });
    const text = await res.text();
    return { status: res.status, header: (name) => res.headers.get(name) ?? undefined, text };
  };
}

/** The field errors of a problem, `path: message` joined by `; `, or an empty string when it has none. */
export function describeFieldErrors(problem: Problem): string {
  return problem.errors?.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ') ?? '';
}

/** What a TLS verification failure means to the person who set the API URL, and what to do about it. */
const TLS_PROBLEMS: Record<string, { what: string; hint: string }> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: {
    what: 'it is self-signed',
    hint: 'trust it with NODE_EXTRA_CA_CERTS=<path to the certificate, PEM>',
  },
  SELF_SIGNED_CERT_IN_CHAIN: {
    what: 'its chain ends in a self-signed CA this machine does not trust',
    hint: 'trust that CA with NODE_EXTRA_CA_CERTS=<path to the CA certificate, PEM>',
  },
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: {
    what: 'it is signed by a CA this machine does not know',
    hint: 'trust that CA with NODE_EXTRA_CA_CERTS=<path to the CA certificate, PEM>, or have the server send its intermediate certificates',
  },
  UNABLE_TO_GET_ISSUER_CERT: {
    what: 'it is signed by a CA this machine does not know',
    hint: 'trust that CA with NODE_EXTRA_CA_CERTS=<path to the CA certificate, PEM>',
  },
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: {
    what: 'it is signed by a CA this machine does not know',
    hint: 'trust that CA with NODE_EXTRA_CA_CERTS=<path to the CA certificate, PEM>',
  },
  ERR_TLS_CERT_ALTNAME_INVALID: {
    what: 'it is not issued for this host name',
    hint: 'use the host name the certificate names in the API URL',
  },
  CERT_HAS_EXPIRED: { what: 'it has expired', hint: 'renew the certificate on the server' },
  CERT_NOT_YET_VALID: {
    what: 'it is not valid yet',
    hint: "check this machine's clock and the certificate's start date",
  },
};

/**
 * A network failure in one readable line and a hint when it is a TLS verification failure (a
 * self-signed certificate, an unknown CA, the wrong host name, an expired one), found by the
 * OpenSSL or Node code on the error or its causes (`fetch` wraps it as "fetch failed"); null for
 * any other network failure, whose own message says enough.
 */
export function describeTlsFailure(error: unknown): { message: string; hint: string } | null {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    const problem = typeof code === 'string' ? TLS_PROBLEMS[code] : undefined;
    if (problem) return { message: `the API's TLS certificate was refused: ${problem.what} (${code})`, hint: problem.hint };
  }
  return null;
}

export function describeFailure(f: CallFailure): string {
  switch (f.kind) {
    case 'http_error': {
      if (!f.problem) return `HTTP ${f.status}`;
      const fields = describeFieldErrors(f.problem);
      return `${f.problem.title}${f.problem.detail ? `: ${f.problem.detail}` : ''}${fields ? ` (${fields})` : ''}`;
    }
    case 'invalid_response':
      return `invalid response (HTTP ${f.status}): ${f.message}`;
    case 'network_error': {
      const tls = describeTlsFailure(f.cause);
      return `cannot reach the API: ${tls ? `${tls.message}; ${tls.hint}` : f.message}`;
    }
  }
}

/** True for failures a retry may fix: network errors, 408, 429 and 5xx. */
export function isRetryable(f: CallFailure): boolean {
  if (f.kind === 'network_error') return true;
  if (f.kind === 'invalid_response') return false;
  return f.status === 408 || f.status === 429 || f.status >= 500;
}

/** True for an answer a retry will not change: the API refused the request itself (a 4xx other than 408 and 429). */
export function isRefusal(f: CallFailure): boolean {
  return f.kind === 'http_error' && f.status >= 400 && !isRetryable(f);
}

/**
 * The contract's code of a failed call, how callers tell one refusal from another: the problem's
 * code, or for an answer without a known one (a proxy's page) the one code its status stands for.
 * Null for network failures, invalid responses and statuses that stand for several codes.
 */
export function failureCode(f: CallFailure): ErrorCode | null {
  if (f.kind !== 'http_error') return null;
  const known = ErrorCode.safeParse(f.problem?.code);
  return known.success ? known.data : codeForStatus(f.status);
}

/** True when the API refused the credential: unknown or expired (`unauthenticated`), or not allowed (`forbidden`). The same key will be refused again. */
export function isAccessRefused(f: CallFailure): boolean {
  const code = failureCode(f);
  return code === 'unauthenticated' || code === 'forbidden';
}

/** A route path with its `:name` parameters filled in and encoded; a missing one throws a TypeError. */
export function buildPath(path: string, params: Record<string, unknown> | undefined): string {
  return path.replace(/:([A-Za-z]+)/g, (_, key: string) => {
    const value = params?.[key];
    if (value === undefined || value === null) throw new TypeError(`missing path parameter "${key}"`);
    return encodeURIComponent(String(value));
  });
}

/** A query string (with its `?`, or empty): absent values are left out, arrays are comma-joined. */
export function buildQuery(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    search.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

function parseRetryAfter(raw: string | undefined): number | null {
  if (!raw) return null;
  const seconds = Number(raw);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(raw);
  return Number.isNaN(date) ? null : Math.max(0, date - Date.now());
}

/** The calls in flight under each caller's signal, aborted together by one listener on it. */
const linked = new WeakMap<AbortSignal, Set<AbortController>>();

/**
 * Aborts `controller` when `outer` aborts, with one listener per outer signal however many calls
 * share it: a listener per call (AbortSignal.any) piled up on a run's signal with hundreds of calls
 * in flight and tripped MaxListenersExceededWarning. Returns the unlink for when the call ends.
 */
function linkAbort(outer: AbortSignal, controller: AbortController): () => void {
  if (outer.aborted) {
    controller.abort(outer.reason);
    return () => {};
  }
  let calls = linked.get(outer);
  if (!calls) {
    const set = new Set<AbortController>();
    calls = set;
    linked.set(outer, set);
    outer.addEventListener(
      'abort',
      () => {
        for (const call of set) call.abort(outer.reason);
        set.clear();
      },
      { once: true },
    );
  }
  calls.add(controller);
  const set = calls;
  return () => set.delete(controller);
}

interface RawInput {
  params?: Record<string, unknown>;
  query?: Record<string, unknown>;
  body?: unknown;
  headers?: Record<string, string>;
}

/** Calls the routes of the shared table over a transport; the Node client and the dashboard both wrap it. */
export class ClientCore {
  readonly baseUrl: string;
  private readonly transport: Transport;
  private readonly requestHeaders: (method: HttpMethod) => Record<string, string>;
  private readonly timeoutMs: number | undefined;
  private readonly identity: Record<string, string>;
  private readonly onServerVersion: ClientCoreOptions['onServerVersion'];
  private readonly onUnknownValues: ClientCoreOptions['onUnknownValues'];

  constructor(options: ClientCoreOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.transport = options.transport;
    this.requestHeaders = options.requestHeaders ?? (() => ({}));
    this.timeoutMs = options.timeoutMs;
    this.identity = options.identity ? identityHeaders(options.identity) : {};
    this.onServerVersion = options.onServerVersion;
    this.onUnknownValues = options.onUnknownValues;
  }

  /**
   * The absolute URL of a route with its parameters and query: for what is not one JSON call, such
   * as an event stream or a download link. A missing path parameter throws a TypeError.
   */
  url<N extends RouteName>(name: N, input: RouteUrlInput<N>): string {
    const raw = input as RawInput;
    return `${this.baseUrl}${buildPath(servedPath(routes[name]), raw.params)}${buildQuery(raw.query)}`;
  }

  async call<N extends RouteName>(name: N, input: CallInput<N>, options: CallOptions = {}): Promise<CallResult<CallOutput<N>>> {
    const def: RouteDef = routes[name];
    const raw = input as RawInput;
    // A missing path parameter is the caller's bug, not a failure a retry could fix: it throws
    // (a TypeError) instead of coming back as a retryable network error.
    const url = this.url(name, input);
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...this.identity,
      ...this.requestHeaders(def.method),
      ...raw.headers,
    };
    let body: string | undefined;
    if (raw.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(raw.body);
    }
    const controller = new AbortController();
    const baseTimeout = options.timeoutMs ?? this.timeoutMs;
    let timer: ReturnType<typeof setTimeout> | undefined;
    if (baseTimeout !== undefined) {
      const waitMs = (raw.body as { waitMs?: unknown } | undefined)?.waitMs;
      const timeout = baseTimeout + (typeof waitMs === 'number' ? waitMs : 0);
      timer = setTimeout(() => controller.abort(new DOMException('the request timed out', 'TimeoutError')), timeout);
    }
    const unlink = options.signal ? linkAbort(options.signal, controller) : null;
    let res: TransportResponse;
    try {
      res = await this.transport({ url, method: def.method, headers, body, signal: controller.signal });
    } catch (error) {
      return { ok: false, kind: 'network_error', message: (error as Error).message, cause: error };
    } finally {
      clearTimeout(timer);
      unlink?.();
    }
    const { status, text } = res;
    this.onServerVersion?.(res.header(SERVER_VERSION_HEADER) ?? null, status);
    if (status >= 400) {
      let problem: Problem | null = null;
      try {
        const parsed = Problem.safeParse(JSON.parse(text));
        if (parsed.success) problem = parsed.data;
      } catch {
        // a non-JSON error body (a proxy's HTML page, say) leaves problem null
      }
      return { ok: false, kind: 'http_error', status, problem, retryAfterMs: parseRetryAfter(res.header('retry-after')) };
    }
    let json: unknown = null;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, kind: 'invalid_response', status, message: 'body is not JSON' };
      }
    }
    const onUnknown = this.onUnknownValues;
    const parsed = parseAnswer(def.response, json, onUnknown && ((values) => onUnknown(name, values)));
    if (!parsed.success) {
      return {
        ok: false,
        kind: 'invalid_response',
        status,
        message: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '),
      };
    }
    return { ok: true, status, data: parsed.data as CallOutput<N> };
  }
}
