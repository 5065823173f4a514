import type { ProposalStatus, StateType } from '@outpost/sdk/contracts';
import { processMetrics, SECONDS_LONG_POLL } from '@outpost/sdk/metrics';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Logger } from '../logger.js';

/** How many runs of one pool wait or are held, for the queue-depth gauges of `/metrics`. */
export interface PoolRunCounts {
  /** Slug of the pool's workspace. */
  workspace: string;
  pool: string;
  /** SCHEDULED runs whose expected start time has passed: due, not yet claimed. */
  due: number;
  pending: number;
  running: number;
  cancelling: number;
  /** Seconds the longest-waiting due run has waited; 0 with none. */
  oldest_waiting_seconds: number;
  /** GPUs the due runs ask for. */
  gpus_requested: number;
  /** GPU devices of the pool's online workers, and those no held run was assigned. */
  gpus_total: number;
  gpus_free: number;
}

/** A judged proposal: the orchestration answer, or STALE when the proposer's attempt was fenced off. */
export type JudgedStatus = ProposalStatus | 'STALE';

/** The route label of requests no route answered. */
export const UNMATCHED_ROUTE = 'unmatched';

const SECONDS_FAST = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** From a run's expected start to its claim: sub-second with idle workers, minutes with a backlog. */
const SECONDS_DISPATCH = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/**
 * The Prometheus metrics of one API server: a registry of its own (never prom-client's global
 * one), so servers started side by side in one process count separately. Counters and
 * histograms move as requests, claims, proposals and log batches happen; the queue-depth gauges
 * are read from the database when scraped. Labels carry route patterns, state types, pool names
 * and workspace slugs — never an id, a path as sent, or a credential.
 */
export class ApiMetrics {
  /** This server's own metrics (the process metrics are added when exposed). */
  readonly registry = new Registry();
  readonly contentType = Registry.PROMETHEUS_CONTENT_TYPE;
  readonly #exposed: Registry;
  readonly #readPoolCounts: () => Promise<PoolRunCounts[]>;
  readonly #logger: Logger;
  #scrape: Promise<string> | null = null;

  readonly #requests = new Counter({
    name: 'outpost_http_requests_total',
    help: 'HTTP requests answered, by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly #requestSeconds = new Histogram({
    name: 'outpost_http_request_duration_seconds',
    help: 'Time until the response was ready (a stream: until it started), by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    // Requests include claims that long-poll for up to a minute.
    buckets: SECONDS_LONG_POLL,
    registers: [this.registry],
  });
  readonly #claimSeconds = new Histogram({
    name: 'outpost_claim_duration_seconds',
    help: 'Time one claim transaction took (limit locks and the claim statement), long-poll waits excluded.',
    buckets: SECONDS_FAST,
    registers: [this.registry],
  });
  readonly #claimedRuns = new Counter({
    name: 'outpost_claimed_runs_total',
    help: 'Runs handed to workers by claims.',
    registers: [this.registry],
  });
  readonly #dispatchDelay = new Histogram({
    name: 'outpost_dispatch_delay_seconds',
    help: "Time from a claimed run's expected start to its claim, by the database clock.",
    buckets: SECONDS_DISPATCH,
    registers: [this.registry],
  });
  readonly #transitions = new Counter({
    name: 'outpost_state_transitions_total',
    help: 'State proposals judged, by proposed state type and answer (ACCEPT, REJECT, WAIT, ABORT, or STALE for a fenced attempt).',
    labelNames: ['to', 'status'] as const,
    registers: [this.registry],
  });
  readonly #logLines = new Counter({
    name: 'outpost_log_lines_ingested_total',
    help: 'Log lines stored, from log batches and state proposals alike; redelivered duplicates are not counted.',
    registers: [this.registry],
  });
  readonly #due = new Gauge({
    name: 'outpost_runs_due',
    help: 'Scheduled runs past their expected start time and not yet claimed, by workspace slug and pool (read when scraped).',
    labelNames: ['workspace', 'pool'] as const,
    registers: [this.registry],
  });
  readonly #held = new Gauge({
    name: 'outpost_runs_active',
    help: 'Runs held by workers (PENDING, RUNNING or CANCELLING), by workspace slug, pool and state (read when scraped).',
    labelNames: ['workspace', 'pool', 'state'] as const,
    registers: [this.registry],
  });

  // For autoscalers (KEDA's prometheus scaler, say): the backlog, the runs in flight and the GPU use
  // of each pool. Every replica reads the same database, so a query takes `max by (workspace, pool)`.
  readonly #queueDepth = new Gauge({
    name: 'outpost_pool_queue_depth',
    help: 'Runs due and waiting to be claimed, by workspace slug and pool (read when scraped).',
    labelNames: ['workspace', 'pool'] as const,
    registers: [this.registry],
  });
  readonly #runsRunning = new Gauge({
    name: 'outpost_pool_runs_running',
    help: "Runs held by the pool's workers (PENDING, RUNNING or CANCELLING), each taking one of a worker's slots, by workspace slug and pool (read when scraped).",
    labelNames: ['workspace', 'pool'] as const,
    registers: [this.registry],
  });
  readonly #oldestWaiting = new Gauge({
    name: 'outpost_pool_oldest_waiting_seconds',
    help: 'Seconds the longest-waiting due run of the pool has waited; 0 with none (read when scraped).',
    labelNames: ['workspace', 'pool'] as const,
    registers: [this.registry],
  });
  readonly #gpusRequested = new Gauge({
    name: 'outpost_pool_gpus_requested',
    help: "GPUs the pool's due, waiting runs ask for (read when scraped).",
    labelNames: ['workspace', 'pool'] as const,
    registers: [this.registry],
  });
  readonly #gpusFree = new Gauge({
    name: 'outpost_pool_gpus_free',
    help: "GPU devices of the pool's online workers that no held run was assigned (read when scraped).",
    labelNames: ['workspace', 'pool'] as const,
    registers: [this.registry],
  });
  readonly #gpusTotal = new Gauge({
    name: 'outpost_pool_gpus_total',
    help: "GPU devices of the pool's online workers (read when scraped).",
    labelNames: ['workspace', 'pool'] as const,
    registers: [this.registry],
  });
  readonly #poolGauges = [
    this.#queueDepth,
    this.#runsRunning,
    this.#oldestWaiting,
    this.#gpusRequested,
    this.#gpusFree,
    this.#gpusTotal,
  ];

  /** `readPoolCounts` reads every pool's due and held runs when Prometheus scrapes. */
  constructor(readPoolCounts: () => Promise<PoolRunCounts[]>, logger: Logger) {
    this.#readPoolCounts = readPoolCounts;
    this.#logger = logger;
    this.#exposed = Registry.merge([processMetrics(), this.registry]);
  }

  requestAnswered(method: string, route: string, status: number, seconds: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#requestSeconds.observe({ method, route }, seconds);
  }

  claimTransaction(seconds: number): void {
    this.#claimSeconds.observe(seconds);
  }

  /** Runs a claim handed out, with the database's times of their expected start and of the claim. */
  runsClaimed(runs: readonly { expectedStartTime: Date; claimedAt: Date }[]): void {
    if (runs.length === 0) return;
    this.#claimedRuns.inc(runs.length);
    for (const run of runs) {
      this.#dispatchDelay.observe(Math.max(0, run.claimedAt.getTime() - run.expectedStartTime.getTime()) / 1000);
    }
  }

  proposalJudged(to: StateType, status: JudgedStatus): void {
    this.#transitions.inc({ to, status });
  }

  logLinesIngested(lines: number): void {
    if (lines > 0) this.#logLines.inc(lines);
  }

  /**
   * The exposition text: the queue-depth gauges are read from the database first. When that read
   * fails the gauges are left out (a gap, not a stale or zero value) and everything else is served.
   * Scrapes that arrive while one is being answered (say, two Prometheus replicas) share its answer
   * and its one query.
   */
  exposition(): Promise<string> {
    this.#scrape ??= this.#expose().finally(() => {
      this.#scrape = null;
    });
    return this.#scrape;
  }

  async #expose(): Promise<string> {
    this.#due.reset();
    this.#held.reset();
    for (const gauge of this.#poolGauges) gauge.reset();
    try {
      for (const row of await this.#readPoolCounts()) {
        const labels = { workspace: row.workspace, pool: row.pool };
        this.#due.set(labels, row.due);
        this.#held.set({ ...labels, state: 'PENDING' }, row.pending);
        this.#held.set({ ...labels, state: 'RUNNING' }, row.running);
        this.#held.set({ ...labels, state: 'CANCELLING' }, row.cancelling);
        this.#queueDepth.set(labels, row.due);
        this.#runsRunning.set(labels, row.pending + row.running + row.cancelling);
        this.#oldestWaiting.set(labels, row.oldest_waiting_seconds);
        this.#gpusRequested.set(labels, row.gpus_requested);
        this.#gpusFree.set(labels, row.gpus_free);
        this.#gpusTotal.set(labels, row.gpus_total);
      }
    } catch (error) {
      this.#due.reset();
      this.#held.reset();
      for (const gauge of this.#poolGauges) gauge.reset();
      this.#logger.warn({ err: error }, 'metrics: cannot read queue depth from the database');
    }
    return this.#exposed.metrics();
  }
}
