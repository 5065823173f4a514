import { failureCode, isAccessRefused, type OutpostClient } from '@outpost/sdk/client';
import type { Logger } from 'pino';
import type { WorkerOptions } from './options.js';
import { type LogLineCounts, LogShipper } from './ship-logs.js';
import { listSpools } from './spool.js';

/** How often the spool directory is checked for lines left behind by a finished run or an earlier process. */
const RESCAN_MS = 60_000;

export interface SpoolRecoveryDeps {
  client: OutpostClient;
  options: WorkerOptions;
  logger: Logger;
  /** Counts the lines delivered (and spooled again). */
  logLines?: LogLineCounts;
  /** `<runId>-<attempt>` of the runs this process is executing; their own shippers own those spools. */
  active: () => ReadonlySet<string>;
}

/**
 * Delivers log lines that were spooled but never acknowledged: by an earlier worker process that
 * stopped while the API was unreachable, or by a run of this one whose final flush ran out of time.
 * The run tokens are gone by then, so these go with the worker's own key, which may write logs;
 * (attempt, seq) makes a re-send harmless. Assumes one worker process per spool directory.
 */
export class SpoolRecovery {
  private readonly shippers = new Map<string, LogShipper>();
  private readonly pending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly deps: SpoolRecoveryDeps) {
    this.log = deps.logger.child({ component: 'spool-recovery' });
  }

  start(): void {
    this.scan();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const shipper of this.shippers.values()) shipper.stop();
    await Promise.all([...this.pending]);
  }

  /** Resolves once every spool being recovered right now is delivered. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }

  private scan(): void {
    if (this.stopped) return;
    const { options, client } = this.deps;
    const active = this.deps.active();
    for (const { runId, attempt } of listSpools(options.spoolDir)) {
      const key = `${runId}-${attempt}`;
      if (active.has(key) || this.shippers.has(key)) continue;
      const shipper = new LogShipper({
        runId,
        attempt,
        spoolDir: options.spoolDir,
        batchSize: options.logBatchSize,
        batchMs: 0,
        logger: this.log,
        // A key that may not write logs (an admin key used as a worker key) is a configuration error to
        // fix, not a reason to throw the lines away: keep them on disk. So is an attempt a worker holds
        // now (claimed again after it was handed back): its lines are taken once it ends.
        keepOnRefusal: (failure) => isAccessRefused(failure) || failureCode(failure) === 'conflict',
        ...(this.deps.logLines ? { counts: this.deps.logLines } : {}),
        send: (batch) => client.call('logsWrite', { params: { id: runId }, body: batch }),
      });
      this.shippers.set(key, shipper);
      this.log.info({ runId, attempt }, 'delivering spooled log lines');
      const task = shipper.flush().then(() => {
        shipper.stop();
        this.shippers.delete(key);
      });
      this.pending.add(task);
      void task.finally(() => this.pending.delete(task));
    }
    this.timer = setTimeout(() => this.scan(), RESCAN_MS);
    this.timer.unref();
  }
}
