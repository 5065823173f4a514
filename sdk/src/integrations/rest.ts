import { setTimeout as sleep } from 'node:timers/promises';
import { describeError, toError } from '../runtime/errors.js';

/** A service answered with an error, or did not answer. `errorCode` is the service's own (`RESOURCE_DOES_NOT_EXIST`…). */
export class IntegrationError extends Error {
  override readonly name = 'IntegrationError';
  constructor(
    message: string,
    /** The HTTP status, or null when no answer came. */
    readonly status: number | null,
    readonly errorCode: string | null,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The base URL of a service from an option or a variable: http(s), without a user or password in it
 * (credentials go in their own variables, which are masked), without a trailing slash.
 */
export function serviceUrl(given: string | undefined, variable: string, credentialVariables: string): URL {
  if (!given?.trim()) throw new IntegrationError(`set ${variable} on the worker, or pass it as an option`, null, null);
  let url: URL;
  try {
    url = new URL(given.trim().replace(/\/+$/, ''));
  } catch {
    throw new IntegrationError(`${variable} is not a URL`, null, null);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new IntegrationError(`${variable} must be an http(s) URL, not ${url.protocol}`, null, null);
  }
  if (url.username || url.password) {
    throw new IntegrationError(`${variable} holds credentials: set ${credentialVariables} instead`, null, null);
  }
  return url;
}

export interface RestClientOptions {
  /** Names the service in messages: `MLflow`, `Databricks`. */
  service: string;
  /** Every path is relative to this (`https://host/api/2.0/mlflow`). */
  root: string;
  /** The `Authorization` header, or what finds it before each request (a token that expires). */
  authorization: string | null | (() => Promise<string | null>);
  /** What to check when the service refuses the credentials: `MLFLOW_TRACKING_TOKEN`. */
  credentialHint: string;
  /** @default 30000 */
  requestTimeoutMs?: number;
  /** @default 3 */
  retries?: number;
  /** @default 500 */
  retryDelayMs?: number;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
}

function retryAfterMs(header: string | null): number | null {
  if (!header) return null;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/**
 * JSON over HTTP to a service whose errors are `{ error_code, message }` (MLflow, Databricks),
 * `{ error: { status, message } }` (Google) or a Kubernetes Status.
 * `replayable`: sending the request twice does no harm (a read, a create answered
 * RESOURCE_ALREADY_EXISTS, a cancel, a start with an idempotency token), so one that failed on the
 * way or got a 5xx is tried again; otherwise only an explicit refusal (429, 503) is, since the
 * service never acted on it. A `Retry-After` answer sets the wait (at most a minute). Credentials
 * never appear in an error.
 */
export function restClient(options: RestClientOptions) {
  const host = new URL(options.root).host;
  const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
  const retries = options.retries ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 500;
  const send = options.fetch ?? fetch;

  return async function call<T>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body: Record<string, unknown> | null,
    replayable: boolean,
    signal?: AbortSignal,
  ): Promise<T> {
    const what = `${options.service} ${method} /${path.split('?')[0]}`;
    const pause = (ms: number) => sleep(Math.min(ms, 60_000), undefined, signal ? { signal } : undefined);
    for (let attempt = 0; ; attempt++) {
      signal?.throwIfAborted();
      const timeout = AbortSignal.timeout(requestTimeoutMs);
      const authorization = typeof options.authorization === 'function' ? await options.authorization() : options.authorization;
      let response: Response;
      try {
        response = await send(`${options.root}/${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(body ? { 'content-type': 'application/json' } : {}),
            ...(authorization ? { authorization } : {}),
          },
          ...(body ? { body: JSON.stringify(body) } : {}),
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (error) {
        signal?.throwIfAborted();
        if (replayable && attempt < retries) {
          await pause(retryDelayMs * 2 ** attempt);
          continue;
        }
        const reason = timeout.aborted ? `no answer within ${requestTimeoutMs} ms` : describeError(toError(error));
        throw new IntegrationError(`${what} failed: ${reason} (${host})`, null, null, { cause: error });
      }
      const text = await response.text();
      let parsed: unknown = null;
      try {
        parsed = text ? JSON.parse(text) : {};
      } catch {
        parsed = null;
      }
      if (response.ok) {
        if (parsed === null || typeof parsed !== 'object') {
          throw new IntegrationError(`${what} answered ${response.status} with no JSON`, response.status, null);
        }
        return parsed as T;
      }
      // `{ error_code, message }` (MLflow, Databricks), Google's `{ error: { status, message } }`, or a
      // Kubernetes Status (`{ kind: 'Status', reason, message }`).
      const outer = (parsed ?? {}) as {
        error_code?: unknown;
        message?: unknown;
        error?: { status?: unknown; message?: unknown };
        kind?: unknown;
        reason?: unknown;
      };
      const problem =
        typeof outer.error === 'object' && outer.error !== null
          ? { error_code: outer.error.status, message: outer.error.message }
          : outer.kind === 'Status'
            ? { error_code: outer.reason, message: outer.message }
            : outer;
      const errorCode = typeof problem.error_code === 'string' ? problem.error_code : null;
      const refused = response.status === 429 || response.status === 503;
      if ((refused || (replayable && response.status >= 500)) && attempt < retries) {
        await pause(retryAfterMs(response.headers.get('retry-after')) ?? retryDelayMs * 2 ** attempt);
        continue;
      }
      const message = typeof problem.message === 'string' ? problem.message.slice(0, 500) : text.slice(0, 200);
      const hint = response.status === 401 || response.status === 403 ? ` — check ${options.credentialHint} on the worker` : '';
      throw new IntegrationError(
        `${what} answered ${response.status}${errorCode ? ` ${errorCode}` : ''}: ${message}${hint}`,
        response.status,
        errorCode,
      );
    }
  };
}

export type RestCall = ReturnType<typeof restClient>;
