import {
  context as otelContext,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  startProcessTracing,
  type Tracing,
  trace,
} from '@outpost/sdk/telemetry';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from '../http/env.js';
import { routeLabel } from '../http/request-metrics.js';
import type { Logger } from '../logger.js';

/*
 * The API's traces: a server span per request named by its route pattern, and a span around each
 * claim transaction. Without an OTLP endpoint the global tracer is the no-op one and nothing is recorded.
 */

const tracer = () => trace.getTracer('outpost/api');

/** Starts exporting traces when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; null otherwise, or when tracing cannot start. */
export function startApiTracing(logger: Logger): Promise<Tracing | null> {
  return startProcessTracing('outpost-api').catch((error: unknown) => {
    logger.warn({ err: error }, 'OpenTelemetry tracing could not start; serving without traces');
    return null;
  });
}

const headerGetter = {
  keys: (carrier: Headers) => [...carrier.keys()],
  get: (carrier: Headers, key: string) => carrier.get(key) ?? undefined,
};

/**
 * One server span per request, a child of the caller's `traceparent` when it sends one. Its name and
 * `http.route` are the matched route's pattern, never the path as sent; no header, query or body is recorded.
 */
export function requestTracing(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    const span = tracer().startSpan(
      c.req.method,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': c.req.method } },
      parent,
    );
    if (!span.isRecording()) return next();
    try {
      await otelContext.with(trace.setSpan(parent, span), next);
    } finally {
      const route = routeLabel(c);
      span.updateName(`${c.req.method} ${route}`);
      span.setAttribute('http.route', route);
      const status = c.res.status;
      span.setAttribute('http.response.status_code', status);
      const principal = c.get('principal');
      if (principal) span.setAttribute('outpost.workspace_id', principal.workspaceId);
      if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
  };
}

/** Runs one claim transaction in a `claim <pool>` span that records how many runs it claimed. */
export async function tracedClaim<T extends unknown[]>(pool: string, claim: () => Promise<T>): Promise<T> {
  return tracer().startActiveSpan(`claim ${pool}`, async (span) => {
    try {
      const rows = await claim();
      span.setAttribute('outpost.claimed', rows.length);
      return rows;
    } catch (error) {
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).name });
      throw error;
    } finally {
      span.end();
    }
  });
}
