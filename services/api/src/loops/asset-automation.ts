import type { Sql } from '../db/client.js';
import type { Logger } from '../logger.js';
import { type AutomationPassOptions, automationPass } from '../materialization/automation-pass.js';
import type { RunNotifier } from '../runs/run-notifier.js';
import { ElectedRounds } from './elected-loop.js';

export interface AssetAutomationLoopOptions extends AutomationPassOptions {
  /** Delay after a pass that requested runs or announced a change. @default 250 */
  busyMs?: number;
  /**
   * Delay after a quiet pass: how late a cron tick or a freshness deadline may be noticed. Any
   * event (a materialisation, a run's end) wakes the loop sooner. @default 10000
   */
  idleMs?: number;
}

/**
 * The declarative automation of assets (assets/automation/): one replica leads it (advisory lock).
 * Woken by the event ledger's NOTIFY (a materialisation is an event) and by its timer (cron ticks
 * and freshness deadlines pass without any event).
 */
export class AssetAutomationLoop extends ElectedRounds {
  constructor(
    private readonly sql: Sql,
    databaseUrl: string,
    private readonly logger: Logger,
    private readonly notifier: RunNotifier | null,
    private readonly options: AssetAutomationLoopOptions = {},
  ) {
    super(databaseUrl, logger, { name: 'asset-automation', busyMs: options.busyMs ?? 250, idleMs: options.idleMs ?? 10_000 });
  }

  protected async round(): Promise<number> {
    const pass = await automationPass(this.sql, this.logger, this.options);
    const found = pass.requested + pass.freshnessChanges;
    if (found + pass.skipped + pass.failed > 0) this.logger.debug(pass, 'asset automation pass');
    return found;
  }

  protected override doorbell(wake: () => void): (() => void) | null | undefined {
    return this.notifier?.onLedgerEvents(wake);
  }
}
