import type { OutpostClient } from '@outpost/sdk/client';
import type { Logger } from 'pino';
import type { WorkerOptions } from './options.js';
import { LogShipper } from './ship-logs.js';
import { listSpools } from './spool.js';

export interface SpoolRecovery {
  /** Stops re-sending; lines still undelivered stay on disk for the next start. */
  stop(): Promise<void>;
  /** Resolves when every leftover spool was delivered (or the recovery stopped). */
  readonly done: Promise<void>;
}

/**
 * Delivers log lines an earlier worker process spooled but never got acknowledged (it was stopped
 * or killed while the API was unreachable). The run tokens died with that process, so these go
 * with the worker's own key, which may write logs; (attempt, seq) makes a re-send harmless.
 * Assumes one worker process per spool directory.
 */
export function recoverSpools(deps: { client: OutpostClient; options: WorkerOptions; logger: Logger }): SpoolRecovery {
  const { client, options } = deps;
  const logger = deps.logger.child({ component: 'spool-recovery' });
  const leftovers = listSpools(options.spoolDir);
  const shippers = leftovers.map(
    ({ runId, attempt }) =>
      new LogShipper({
        runId,
        attempt,
        spoolDir: options.spoolDir,
        batchSize: options.logBatchSize,
        batchMs: 0,
        logger,
        send: (batch) => client.call('logsWrite', { params: { id: runId }, body: batch }),
      }),
  );
  if (shippers.length > 0)
    logger.info({ spools: shippers.length }, 'delivering log lines spooled by an earlier run of the worker');
  const done = Promise.all(shippers.map((s) => s.flush())).then(() => {
    for (const s of shippers) s.stop();
  });
  return {
    done,
    async stop() {
      for (const s of shippers) s.stop();
      await done;
    },
  };
}
