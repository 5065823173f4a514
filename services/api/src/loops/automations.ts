import { CompiledCache } from '../automations/compile.js';
import { AutomationEngine } from '../automations/engine.js';
import { type CelSandbox, celSandbox } from '../cel/sandbox.js';
import type { Sql } from '../db/client.js';
import type { Logger } from '../logger.js';
import type { RunNotifier } from '../runs/run-notifier.js';
import { ElectedRounds } from './elected-loop.js';

export interface AutomationLoopOptions {
  /** Delay after a round that read events or fired. @default 0 */
  busyMs?: number;
  /** Delay after an idle round: the longest a proactive window stays open past its end, and the fallback for a lost NOTIFY. @default 1000 */
  idleMs?: number;
  /** Events read per round. @default 500 */
  batchSize?: number;
  /** Test-only hold file (see AutomationEngine); `OUTPOST_TEST_AUTOMATION_HOLD_FILE` when absent. */
  holdFile?: string;
  /** Where expressions are evaluated. @default the process's sandbox */
  sandbox?: CelSandbox;
  /** Evaluation time a workspace may spend in one round. */
  workspaceBudgetMs?: number;
}

/**
 * The automations engine on one replica at a time (ElectedLoop `automations`), woken by the
 * ledger's `outpost_events` NOTIFY so an event's actions follow it within a round. Each round is
 * one transaction (automations/engine.ts), so a leader that dies mid-round leaves nothing behind
 * and the next one redoes it.
 */
export class AutomationLoop extends ElectedRounds {
  readonly #engine: AutomationEngine;

  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    private readonly notifier: RunNotifier | null,
    options: AutomationLoopOptions = {},
  ) {
    super(databaseUrl, logger, { name: 'automations', busyMs: options.busyMs ?? 0, idleMs: options.idleMs ?? 1_000 });
    this.#engine = new AutomationEngine(new CompiledCache(), {
      batchSize: options.batchSize ?? 500,
      sandbox: options.sandbox ?? celSandbox(),
      workspaceBudgetMs: options.workspaceBudgetMs,
      holdFile: options.holdFile ?? process.env.OUTPOST_TEST_AUTOMATION_HOLD_FILE,
    });
  }

  protected async round(): Promise<number> {
    const round = await this.#engine.round(this.sql);
    if (round.firings > 0) this.logger.debug(round, 'automations round');
    if (round.steppedOver > 0) this.logger.warn(round, 'automations loop stepped over an event that kept failing its rounds');
    return round.events + round.firings;
  }

  protected override doorbell(wake: () => void): (() => void) | null | undefined {
    return this.notifier?.onLedgerEvents(wake);
  }
}
