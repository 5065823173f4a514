import { Agent, type Dispatcher, request } from 'undici';
import type { z } from 'zod';
import { codeForStatus, ErrorCode, Problem } from '../contracts/common.js';
import { type RouteDef, type RouteName, type Routes, routes } from '../contracts/routes.js';

type Infer<T> = T extends z.ZodType ? z.output<T> : never;
type InputOf<T> = T extends z.ZodType ? z.input<T> : never;

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

export interface ClientOptions {
  /** Base URL of the control plane, e.g. `http://127.0.0.1:4200`. */
  baseUrl: string;
  /** An API key (`op_…`) or a run token. */
  token: string;
  /** Per-request timeout in milliseconds, on top of any long-poll wait. @default 30000 */
  timeoutMs?: number;
  /** undici dispatcher; a keep-alive Agent when absent. */
  dispatcher?: Dispatcher;
  userAgent?: string;
}

export interface CallOptions {
  signal?: AbortSignal;
  /** Overrides the client's timeout for this call (long-polls add their wait). */
  timeoutMs?: number;
}

/** An API failure turned into an exception by `unwrap()`. */
export class OutpostApiError extends Error {
  override readonly name = 'OutpostApiError';
  constructor(readonly failure: CallFailure) {
    super(describeFailure(failure));
  }
  get status(): number | null {
    return this.failure.kind === 'network_error' ? null : this.failure.status;
  }
  /** The contract's code of the failure (see failureCode). */
  get code(): ErrorCode | null {
    return failureCode(this.failure);
  }
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

export function describeFailure(f: CallFailure): string {
  switch (f.kind) {
    case 'http_error': {
      if (!f.problem) return `HTTP ${f.status}`;
      const fields = f.problem.errors?.map((e) => `${e.path || '(body)'}: ${e.message}`).join('; ');
      return `${f.problem.title}${f.problem.detail ? `: ${f.problem.detail}` : ''}${fields ? ` (${fields})` : ''}`;
    }
    case 'invalid_response':
      return `invalid response (HTTP ${f.status}): ${f.message}`;
    case 'network_error':
      return `cannot reach the API: ${f.message}`;
  }
}

export function unwrap<T>(result: CallResult<T>): T {
  if (result.ok) return result.data;
  throw new OutpostApiError(result);
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

function buildPath(def: RouteDef, params: Record<string, unknown> | undefined): string {
  return def.path.replace(/:([A-Za-z]+)/g, (_, key: string) => {
    const value = params?.[key];
    if (value === undefined || value === null) throw new TypeError(`missing path parameter "${key}"`);
    return encodeURIComponent(String(value));
  });
}

function buildQuery(query: Record<string, unknown> | undefined): string {
  if (!query) return '';
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined || v === null) continue;
    search.set(k, Array.isArray(v) ? v.join(',') : String(v));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}

function parseRetryAfter(value: string | string[] | undefined): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
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

/** Typed HTTP client for the Outpost API, shared by the SDK, CLI, worker and tests. */
export class OutpostClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly userAgent: string;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 32 });
    this.userAgent = options.userAgent ?? 'outpost-client';
  }

  /** A client for the same API with another credential, sharing this one's connections. */
  withToken(token: string): OutpostClient {
    return new OutpostClient({
      baseUrl: this.baseUrl,
      token,
      timeoutMs: this.timeoutMs,
      dispatcher: this.dispatcher,
      userAgent: this.userAgent,
    });
  }

  async call<N extends RouteName>(name: N, input: CallInput<N>, options: CallOptions = {}): Promise<CallResult<CallOutput<N>>> {
    const def: RouteDef = routes[name];
    const raw = input as {
      params?: Record<string, unknown>;
      query?: Record<string, unknown>;
      body?: unknown;
      headers?: Record<string, string>;
    };
    // A missing path parameter is the caller's bug, not a failure a retry could fix: it throws
    // (a TypeError) instead of coming back as a retryable network error.
    const url = `${this.baseUrl}/api/v1${buildPath(def, raw.params)}${buildQuery(raw.query)}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.token}`,
      accept: 'application/json',
      'user-agent': this.userAgent,
      ...raw.headers,
    };
    let body: string | undefined;
    if (raw.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(raw.body);
    }
    const waitMs = (raw.body as { waitMs?: unknown } | undefined)?.waitMs;
    const wait = typeof waitMs === 'number' ? waitMs : 0;
    const timeout = (options.timeoutMs ?? this.timeoutMs) + wait;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new DOMException('the request timed out', 'TimeoutError')), timeout);
    const unlink = options.signal ? linkAbort(options.signal, controller) : null;
    let status: number;
    let text: string;
    let retryAfter: string | string[] | undefined;
    try {
      const res = await request(url, {
        method: def.method,
        headers,
        body,
        signal: controller.signal,
        dispatcher: this.dispatcher,
      });
      status = res.statusCode;
      retryAfter = res.headers['retry-after'];
      text = await res.body.text();
    } catch (error) {
      return { ok: false, kind: 'network_error', message: (error as Error).message, cause: error };
    } finally {
      clearTimeout(timer);
      unlink?.();
    }
    if (status >= 400) {
      let problem: Problem | null = null;
      try {
        const parsed = Problem.safeParse(JSON.parse(text));
        if (parsed.success) problem = parsed.data;
      } catch {
        // a non-JSON error body (a proxy's HTML page, say) leaves problem null
      }
      return { ok: false, kind: 'http_error', status, problem, retryAfterMs: parseRetryAfter(retryAfter) };
    }
    let json: unknown = null;
    if (text.length > 0) {
      try {
        json = JSON.parse(text);
      } catch {
        return { ok: false, kind: 'invalid_response', status, message: 'body is not JSON' };
      }
    }
    const parsed = def.response.safeParse(json);
    if (!parsed.success) {
      return {
        ok: false,
        kind: 'invalid_response',
        status,
        message: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      };
    }
    return { ok: true, status, data: parsed.data as CallOutput<N> };
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
