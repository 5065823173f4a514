import type { ClaimedRun } from '@outpost/sdk/contracts';
import { endWithState, type Span, startProcessTracing, type Tracing, trace, traceparentOf } from '@outpost/sdk/telemetry';
import type { Logger } from 'pino';
import type { RunOutcome } from '../executors/final-state.js';

/*
 * The worker's traces: one span per run attempt, from its start to its final state. The flow process
 * continues the trace from `TRACEPARENT`. Without an OTLP endpoint the global tracer is the no-op one.
 */

/** Starts exporting traces when `OTEL_EXPORTER_OTLP_ENDPOINT` is set in the worker's environment; null otherwise, or when tracing cannot start. */
export function startWorkerTracing(env: NodeJS.ProcessEnv, logger: Logger): Promise<Tracing | null> {
  return startProcessTracing('outpost-worker', env).catch((error: unknown) => {
    logger.warn({ err: error }, 'OpenTelemetry tracing could not start; running without traces');
    return null;
  });
}

/** The span of one attempt: `run <flow>/<deployment>`, the root of the run's trace. */
export function startAttemptSpan(claimed: ClaimedRun, pool: string): Span {
  const { flowRun, deployment } = claimed;
  return trace.getTracer('outpost/worker').startSpan(`run ${deployment.flowName}/${deployment.name}`, {
    attributes: { 'outpost.run_id': flowRun.id, 'outpost.attempt': flowRun.attempt, 'outpost.pool': pool },
  });
}

/** What the flow process is given to continue the trace: `TRACEPARENT`, when the span is recorded. */
export function traceEnv(span: Span): Record<string, string> {
  const traceparent = span.isRecording() ? traceparentOf(span) : null;
  return traceparent ? { TRACEPARENT: traceparent } : {};
}

export function endAttemptSpan(span: Span, outcome: RunOutcome): void {
  span.setAttribute('outpost.ending', outcome.ending);
  endWithState(span, outcome.state ?? 'UNKNOWN', outcome.state === 'COMPLETED');
}
