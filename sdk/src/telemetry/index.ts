import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  TraceFlags,
  type Tracer,
  trace,
} from '@opentelemetry/api';

/*
 * OpenTelemetry traces of the API, the worker and the flow process, exported over OTLP/HTTP only
 * when an endpoint is configured. Without one nothing but the no-op API is loaded: the SDK and the
 * exporter are imported on demand, so tracing costs nothing by default.
 */

export { type Context, context, propagation, ROOT_CONTEXT, type Span, SpanKind, SpanStatusCode, type Tracer, trace };

/** Whether traces are exported: `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set. */
export function tracingEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

export interface Tracing {
  tracer: Tracer;
  /** Exports what is buffered, waiting at most `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
  /** Flushes and stops; the last holder of a process-wide provider stops it. */
  shutdown(): Promise<void>;
}

interface Provider {
  getTracer(name: string): Tracer;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** The process-wide provider and how many holders it has (an API and a worker may share one process in tests). */
let registered: { provider: Promise<Provider>; holders: number } | null = null;

async function createProvider(serviceName: string): Promise<Provider> {
  const [{ NodeTracerProvider, BatchSpanProcessor }, { OTLPTraceExporter }, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES win over the component's own name.
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': serviceName }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  return new NodeTracerProvider({ resource, spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
}

function bounded(work: Promise<void>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, timeoutMs);
    timer.unref();
  });
  return Promise.race([work.catch(() => undefined), limit]).finally(() => clearTimeout(timer));
}

/**
 * Starts the process-wide provider (registered as the global one, with async context and the W3C
 * propagator) when an endpoint is configured, and returns null otherwise. Used by the API and the
 * worker, which own their processes.
 */
export async function startProcessTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | null> {
  if (!tracingEnabled(env)) return null;
  if (!registered) {
    const provider = createProvider(serviceName).then((p) => {
      (p as unknown as { register(): void }).register();
      return p;
    });
    registered = { provider, holders: 0 };
  }
  const own = registered;
  own.holders += 1;
  const provider = await own.provider.catch((error: unknown) => {
    if (registered === own) registered = null;
    throw error;
  });
  let released = false;
  return {
    tracer: provider.getTracer(`outpost/${serviceName}`),
    flush: (timeoutMs = 5000) => bounded(provider.forceFlush(), timeoutMs),
    shutdown: async () => {
      if (released) return;
      released = true;
      own.holders -= 1;
      if (own.holders > 0) return bounded(provider.forceFlush(), 5000);
      if (registered === own) registered = null;
      trace.disable();
      await bounded(provider.shutdown(), 5000);
    },
  };
}

/**
 * A provider of its own, not registered globally: the flow process's runtime uses it, so a flow's
 * own OpenTelemetry setup is left alone. Null when no endpoint is configured.
 */
export async function startLocalTracing(serviceName: string, env: NodeJS.ProcessEnv = process.env): Promise<Tracing | null> {
  if (!tracingEnabled(env)) return null;
  const provider = await createProvider(serviceName);
  return {
    tracer: provider.getTracer(`outpost/${serviceName}`),
    flush: (timeoutMs = 5000) => bounded(provider.forceFlush(), timeoutMs),
    shutdown: () => bounded(provider.shutdown(), 1000),
  };
}

/** The span's context as a W3C `traceparent` value, handed to a child process in `TRACEPARENT`. */
export function traceparentOf(span: Span): string | null {
  const ctx = span.spanContext();
  if (!trace.isSpanContextValid(ctx)) return null;
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A context whose parent is the remote span a `traceparent` value names; the root context when it names none. */
export function contextFromTraceparent(value: string | undefined): Context {
  const match = value ? TRACEPARENT.exec(value.trim()) : null;
  if (!match) return ROOT_CONTEXT;
  const spanContext: SpanContext = {
    traceId: match[1] as string,
    spanId: match[2] as string,
    traceFlags: Number.parseInt(match[3] as string, 16) & TraceFlags.SAMPLED,
    isRemote: true,
  };
  return trace.isSpanContextValid(spanContext) ? trace.setSpanContext(ROOT_CONTEXT, spanContext) : ROOT_CONTEXT;
}

/** Ends a span with an outcome: `outpost.state` set, and an error status unless the state is a success. */
export function endWithState(span: Span, state: string, ok: boolean): void {
  span.setAttribute('outpost.state', state);
  if (!ok) span.setStatus({ code: SpanStatusCode.ERROR, message: state });
  span.end();
}
