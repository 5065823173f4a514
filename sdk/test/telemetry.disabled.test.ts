import { describe, expect, it } from 'vitest';
import {
  contextFromTraceparent,
  ROOT_CONTEXT,
  startLocalTracing,
  startProcessTracing,
  trace,
  tracingEnabled,
} from '../src/telemetry/index.js';

describe('tracing without an OTLP endpoint', () => {
  it('starts no provider and records no span', async () => {
    expect(tracingEnabled({})).toBe(false);
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(true);
    expect(await startProcessTracing('outpost-api', {})).toBeNull();
    expect(await startLocalTracing('outpost-flow', {})).toBeNull();
    const span = trace.getTracer('outpost/test').startSpan('nothing');
    expect(span.isRecording()).toBe(false);
    span.end();
  });
});

describe('a TRACEPARENT value', () => {
  it('names the remote parent span when well-formed, and nothing otherwise', () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const spanId = '00f067aa0ba902b7';
    const parent = trace.getSpanContext(contextFromTraceparent(`00-${traceId}-${spanId}-01`));
    expect(parent).toMatchObject({ traceId, spanId, traceFlags: 1, isRemote: true });
    for (const bad of [undefined, '', 'garbage', `00-${'0'.repeat(32)}-${spanId}-01`, `01-${traceId}-${spanId}-01`]) {
      expect(contextFromTraceparent(bad)).toBe(ROOT_CONTEXT);
    }
  });
});
