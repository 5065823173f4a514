import type { OutpostClient } from '@outpost/sdk/client';
import { describeFailure, isAccessRefused } from '@outpost/sdk/client';
import type { ClaimedSensorTick } from '@outpost/sdk/contracts';
import type { Logger } from 'pino';
import { backoffDelay, retryDelay } from '../backoff.js';
import type { WorkerOptions } from '../options.js';
import type { TickReport } from './evaluate.js';

export interface SensorLoopDeps {
  client: OutpostClient;
  options: Pick<WorkerOptions, 'pool' | 'labels' | 'sensors' | 'sensorPollMs'>;
  workerId: string;
  logger: Logger;
  /** Evaluates one tick; null when stopped before it finished (nothing is reported then). */
  evaluate: (tick: ClaimedSensorTick, stopped: AbortSignal) => Promise<TickReport | null>;
}

/** How many times a report is sent before the worker gives up on it (its lease then runs out). */
const REPORT_ATTEMPTS = 5;

/**
 * Sensor ticks of the pool: while fewer than `--sensors` evaluations run, asks the API for due ticks
 * every `sensorPollMs` (at once after a tick ends), evaluates each, and reports it. Like the claim
 * loop it reschedules itself with `setTimeout` and never throws; a report that cannot be delivered
 * is given up after a few attempts, and the tick's lease running out hands it to another evaluation.
 */
export class SensorLoop {
  private timer: NodeJS.Timeout | null = null;
  private claiming: Promise<void> | null = null;
  private stopped = false;
  private failures = 0;
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly log: Logger;

  constructor(private readonly deps: SensorLoopDeps) {
    this.log = deps.logger.child({ component: 'sensors' });
  }

  start(): void {
    if (this.deps.options.sensors > 0) this.schedule(0);
  }

  /** Stops claiming; evaluations under way are stopped unreported (their leases run out). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.abort.abort();
    await this.claiming;
    await Promise.all([...this.inFlight]);
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.claiming = this.claimOnce()
        .then((next) => {
          if (next !== null) this.schedule(next);
        })
        .finally(() => {
          this.claiming = null;
        });
    }, delay);
  }

  /** One claim; the delay before the next, or null to wait for an evaluation to end. */
  private async claimOnce(): Promise<number | null> {
    const free = this.deps.options.sensors - this.inFlight.size;
    if (free <= 0) return null;
    const { client, options, workerId } = this.deps;
    let result: Awaited<ReturnType<OutpostClient['call']>>;
    try {
      result = await client.call(
        'sensorTicksClaim',
        { params: { pool: options.pool }, body: { workerId, limit: free, labels: options.labels } },
        { signal: this.abort.signal },
      );
    } catch (error) {
      this.failures++;
      this.log.error({ err: error }, 'sensor tick claim failed');
      return backoffDelay(this.failures);
    }
    if (this.stopped) return null;
    if (!result.ok) {
      this.failures++;
      const fatal = isAccessRefused(result);
      this.log[fatal ? 'error' : 'warn'](
        { failures: this.failures, reason: describeFailure(result) },
        'sensor tick claim failed',
      );
      return Math.max(retryDelay(result, this.failures), options.sensorPollMs);
    }
    this.failures = 0;
    const ticks = (result.data as { ticks: ClaimedSensorTick[] }).ticks;
    for (const tick of ticks) this.run(tick);
    return this.inFlight.size >= options.sensors ? null : options.sensorPollMs;
  }

  private run(tick: ClaimedSensorTick): void {
    const done = this.evaluateAndReport(tick)
      .catch((error: unknown) => this.log.error({ err: error, tickId: tick.tickId }, 'sensor tick failed unexpectedly'))
      .finally(() => {
        this.inFlight.delete(done);
        // A slot is free: look for the next due tick now.
        if (!this.stopped && this.timer === null && this.claiming === null) this.schedule(0);
      });
    this.inFlight.add(done);
  }

  private async evaluateAndReport(tick: ClaimedSensorTick): Promise<void> {
    const log = this.log.child({ sensor: tick.sensor.name, sensorId: tick.sensor.id, tickId: tick.tickId });
    const report = await this.deps.evaluate(tick, this.abort.signal);
    if (report === null) return;
    const body = { workerId: this.deps.workerId, outcome: report.outcome, logs: report.logs };
    for (let attempt = 1; attempt <= REPORT_ATTEMPTS; attempt++) {
      const result = await this.deps.client.call('sensorTicksComplete', {
        params: { pool: this.deps.options.pool, id: tick.tickId },
        body,
      });
      if (result.ok) {
        const { status, runs } = result.data as { status: string; runs: { created: boolean }[] };
        log.info({ status, runs: runs.length, created: runs.filter((r) => r.created).length }, 'sensor tick reported');
        return;
      }
      // Refused (the lease ran out and the tick was taken over, or the sensor is gone): nothing to retry.
      if (result.kind === 'http_error' && result.status < 500 && result.status !== 429) {
        log.warn({ reason: describeFailure(result) }, 'sensor tick report refused');
        return;
      }
      if (this.stopped) return;
      log.warn({ attempt, reason: describeFailure(result) }, 'sensor tick report failed; retrying');
      await new Promise((resolve) => setTimeout(resolve, retryDelay(result, attempt)));
    }
    log.error('sensor tick report gave up; the tick is evaluated again once its lease runs out');
  }
}
