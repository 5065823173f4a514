import { Agent, type Dispatcher, request } from 'undici';
import type { ErrorCode } from '../contracts/common.js';
import type { RouteName } from '../contracts/routes.js';
import { SDK_VERSION } from '../version.js';
import {
  type CallFailure,
  type CallInput,
  type CallOptions,
  type CallOutput,
  type CallResult,
  ClientCore,
  type ClientCoreOptions,
  type ClientIdentity,
  describeFailure,
  failureCode,
  type Transport,
} from './core.js';

export * from './core.js';

export interface ClientOptions {
  /** Base URL of the control plane, e.g. `http://127.0.0.1:4200`. */
  baseUrl: string;
  /** An API key (`op_…`) or a run token. */
  token: string;
  /** Per-request timeout in milliseconds, on top of any long-poll wait. @default 30000 */
  timeoutMs?: number;
  /** undici dispatcher; a keep-alive Agent when absent. */
  dispatcher?: Dispatcher;
  /** Who is calling, sent as `outpost-version` and the user agent; the SDK itself (`outpost-sdk/<its version>`) when absent. */
  identity?: ClientIdentity;
  /**
   * Told of every call once it has ended, whatever the outcome (a worker's metrics); kept by
   * `withToken`. `aborted` is set when the caller's own signal ended the call.
   */
  onCallEnded?: (call: EndedCall) => void;
  /** Told of enum values an answer carried that this client does not know (see ClientCoreOptions); kept by `withToken`. */
  onUnknownValues?: ClientCoreOptions['onUnknownValues'];
}

/** One finished call, as `onCallEnded` is told of it. */
export interface EndedCall {
  route: RouteName;
  result: CallResult<unknown>;
  seconds: number;
  aborted: boolean;
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

export function unwrap<T>(result: CallResult<T>): T {
  if (result.ok) return result.data;
  throw new OutpostApiError(result);
}

/** The core's transport over undici's `request`, which keeps connections alive through `dispatcher`. */
function undiciTransport(dispatcher: Dispatcher): Transport {
  return async ({ url, method, headers, body, signal }) => {
    const res = await request(url, { method, headers, body, signal, dispatcher });
    const text = await res.body.text();
    return {
      status: res.statusCode,
      header: (name) => {
        const value = res.headers[name];
        return Array.isArray(value) ? value[0] : value;
      },
      text,
    };
  };
}

/** Typed HTTP client for the Outpost API in Node, shared by the SDK, CLI, worker and tests: the core over undici with a bearer token. */
export class OutpostClient {
  readonly baseUrl: string;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly dispatcher: Dispatcher;
  private readonly ownsDispatcher: boolean;
  private readonly identity: ClientIdentity;
  private readonly core: ClientCore;
  private readonly onCallEnded: ((call: EndedCall) => void) | undefined;
  private readonly onUnknownValues: ClientCoreOptions['onUnknownValues'];

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.token = options.token;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.ownsDispatcher = !options.dispatcher;
    this.dispatcher = options.dispatcher ?? new Agent({ keepAliveTimeout: 10_000, connections: 32 });
    this.identity = options.identity ?? { name: 'sdk', version: SDK_VERSION };
    this.onCallEnded = options.onCallEnded;
    this.onUnknownValues = options.onUnknownValues;
    const credentials = { authorization: `Bearer ${this.token}` };
    this.core = new ClientCore({
      baseUrl: this.baseUrl,
      transport: undiciTransport(this.dispatcher),
      requestHeaders: () => credentials,
      timeoutMs: this.timeoutMs,
      identity: this.identity,
      ...(this.onUnknownValues ? { onUnknownValues: this.onUnknownValues } : {}),
    });
  }

  /** A client for the same API with another credential, sharing this one's connections. */
  withToken(token: string): OutpostClient {
    return new OutpostClient({
      baseUrl: this.baseUrl,
      token,
      timeoutMs: this.timeoutMs,
      dispatcher: this.dispatcher,
      identity: this.identity,
      ...(this.onCallEnded ? { onCallEnded: this.onCallEnded } : {}),
      ...(this.onUnknownValues ? { onUnknownValues: this.onUnknownValues } : {}),
    });
  }

  call<N extends RouteName>(name: N, input: CallInput<N>, options: CallOptions = {}): Promise<CallResult<CallOutput<N>>> {
    const observe = this.onCallEnded;
    if (!observe) return this.core.call(name, input, options);
    const started = performance.now();
    return this.core.call(name, input, options).then((result) => {
      observe({ route: name, result, seconds: (performance.now() - started) / 1000, aborted: options.signal?.aborted === true });
      return result;
    });
  }

  async close(): Promise<void> {
    if (this.ownsDispatcher) await this.dispatcher.close();
  }
}
