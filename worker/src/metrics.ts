import { type EndedCall, failureCode } from '@outpost/sdk/client';
import type { StateType } from '@outpost/sdk/contracts';
import { processMetrics, SECONDS_LONG_POLL } from '@outpost/sdk/metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

const SECONDS_HEARTBEAT = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The terminal states a finished run is counted under from the start, so a dashboard sees zeros, not gaps. */
const FINISHED_STATES: readonly StateType[] = ['COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED'];

/** What the worker reports about itself on every scrape. */
export interface WorkerGauges {
  /** Run attempts the worker holds right now. */
  runningAttempts(): number;
  /** When the worker last reached the API (a claim or heartbeat answered), ms since the epoch; null before it has. */
  lastContactAt(): number | null;
}

/**
 * The Prometheus metrics of one worker: a registry of its own (never prom-client's global one), so
 * workers started side by side in one process count apart. Labels carry route names, state types
 * and error codes — never a run id or a credential.
 */
export class WorkerMetrics {
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  /** With the process's metrics, made at the first scrape: a worker without a health port never starts their observers. */
  #exposed: Registry | null = null;

  readonly #claimed = new Counter({
    name: 'outpost_worker_runs_claimed_total',
    help: 'Runs this worker claimed.',
    registers: [this.registry],
  });
  readonly #finished = new Counter({
    name: 'outpost_worker_runs_finished_total',
    help: 'Run attempts this worker finished, by the state the API last reported for the run (UNKNOWN when it lost the run).',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });
  readonly #claimSeconds = new Histogram({
    name: 'outpost_worker_claim_duration_seconds',
    help: 'Time one claim call took, long-poll wait included, by result (runs, empty, error).',
    labelNames: ['result'] as const,
    // 25 s by default, up to a minute.
    buckets: SECONDS_LONG_POLL,
    registers: [this.registry],
  });
  readonly #heartbeatSeconds = new Histogram({
    name: 'outpost_worker_heartbeat_duration_seconds',
    help: 'Time one heartbeat call took, by result (ok, error).',
    labelNames: ['result'] as const,
    buckets: SECONDS_HEARTBEAT,
    registers: [this.registry],
  });
  readonly #shipped = new Counter({
    name: 'outpost_worker_log_lines_shipped_total',
    help: 'Log lines the API acknowledged.',
    registers: [this.registry],
  });
  readonly #spooled = new Counter({
    name: 'outpost_worker_log_lines_spooled_total',
    help: 'Log lines written to the spool on disk because the API could not take them yet.',
    registers: [this.registry],
  });
  readonly #apiErrors = new Counter({
    name: 'outpost_worker_api_errors_total',
    help: "Calls to the API that failed, by route and the contract's error code (network_error, invalid_response, or http_<status> without one).",
    labelNames: ['route', 'code'] as const,
    registers: [this.registry],
  });

  constructor(identity: { worker: string; pool: string; version: string }, gauges: WorkerGauges) {
    const info = new Gauge({
      name: 'outpost_worker_info',
      help: 'Always 1; its labels name the worker, its pool and its version.',
      labelNames: ['worker', 'pool', 'version'] as const,
      registers: [this.registry],
    });
    info.set(identity, 1);
    new Gauge({
      name: 'outpost_worker_running_attempts',
      help: 'Run attempts the worker holds right now.',
      registers: [this.registry],
      collect() {
        this.set(gauges.runningAttempts());
      },
    });
    new Gauge({
      name: 'outpost_worker_last_api_contact_timestamp_seconds',
      help: 'When the worker last reached the API (a claim or heartbeat answered), in seconds since the epoch; 0 before it has.',
      registers: [this.registry],
      collect() {
        this.set((gauges.lastContactAt() ?? 0) / 1000);
      },
    });
    for (const state of FINISHED_STATES) this.#finished.inc({ state }, 0);
    // Made now, not at the first scrape (see processMetrics).
    processMetrics();
  }

  claimed(runs: number): void {
    this.#claimed.inc(runs);
  }

  finished(state: StateType | null): void {
    this.#finished.inc({ state: state ?? 'UNKNOWN' });
  }

  /** Counting for the log shippers: lines acknowledged, lines spooled. */
  readonly logLines = {
    shipped: (lines: number) => this.#shipped.inc(lines),
    spooled: (lines: number) => this.#spooled.inc(lines),
  };

  /** Every finished API call (the client's `onCallEnded`): latencies of claims and heartbeats, and failures by code. */
  callEnded(call: EndedCall): void {
    // A call the worker itself abandoned (a long-poll cut short by a drain) says nothing about the API.
    if (call.aborted) return;
    const { result } = call;
    if (call.route === 'claim') {
      const outcome = !result.ok ? 'error' : (result.data as { runs: unknown[] }).runs.length > 0 ? 'runs' : 'empty';
      this.#claimSeconds.observe({ result: outcome }, call.seconds);
    } else if (call.route === 'workersHeartbeat') {
      this.#heartbeatSeconds.observe({ result: result.ok ? 'ok' : 'error' }, call.seconds);
    }
    if (result.ok) return;
    const code = result.kind === 'http_error' ? (failureCode(result) ?? `http_${result.status}`) : result.kind;
    this.#apiErrors.inc({ route: call.route, code });
  }

  /** The Prometheus text of this worker's metrics and the process's. */
  exposition(): Promise<string> {
    this.#exposed ??= Registry.merge([this.registry, processMetrics()]);
    return this.#exposed.metrics();
  }
}
