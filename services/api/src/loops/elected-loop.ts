import type { Logger } from '../logger.js';
import { LeaderLock } from './leader-lock.js';

/** What the server starts and stops: every loop under `loops/`, listed once in `startServer`. */
export interface BackgroundLoop {
  start(): void;
  /** Waits for a pass under way, then lets another replica lead. */
  stop(): Promise<void>;
}

export interface ElectedLoopOptions {
  /** Names the loop's advisory lock and its logs; one runner per name across replicas. */
  name: string;
  /** One idempotent pass; returns how much work it found. */
  tick: () => Promise<number>;
  /** Delay after a tick that found work. */
  busyMs: number;
  /** Delay after an idle tick (or when another replica leads). */
  idleMs: number;
  /**
   * A doorbell: subscribes `wake` to a notice that new work may be there (a NOTIFY the run notifier
   * relays) and returns how to unsubscribe. Subscribed when the loop starts, dropped when it stops.
   */
  wakeOn?: (wake: () => void) => (() => void) | null | undefined;
}

/**
 * Runs `tick` on one API replica at a time: each round first checks (or takes) the loop's
 * advisory-lock leadership, then ticks. It reschedules itself with setTimeout after each round, so
 * two rounds never overlap, sooner after a round that found work. A failing round is logged and
 * retried at the idle interval; nothing it throws escapes.
 */
export class ElectedLoop implements BackgroundLoop {
  readonly #leader: LeaderLock;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;
  #stopped = true;
  /** A wake-up came while a round was under way: the next round starts at once. */
  #woken = false;
  /** Drops the doorbell's subscription (`wakeOn`), while the loop runs. */
  #unsubscribe: (() => void) | null = null;

  constructor(
    databaseUrl: string,
    private readonly logger: Logger,
    private readonly options: ElectedLoopOptions,
  ) {
    this.#leader = new LeaderLock(databaseUrl, options.name, logger);
  }

  start(): void {
    if (!this.#stopped) return;
    this.#unsubscribe ??= this.options.wakeOn?.(() => this.wake()) ?? null;
    this.#stopped = false;
    this.#schedule(0);
  }

  /** Waits for a round under way, then gives up leadership. */
  async stop(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = null;
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
    await this.#leader.release();
  }

  /**
   * Runs a round now instead of at the next interval (a latency hint: a NOTIFY that new work may be
   * there). A round under way is followed by another at once. A stopped loop ignores it, and so does
   * a replica that does not lead: it would only ask for the lock again, once per hint.
   */
  wake(): void {
    if (this.#stopped || !this.#leader.held) return;
    if (this.#running) {
      this.#woken = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#schedule(0);
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#running = this.#round().finally(() => {
        this.#running = null;
      });
    }, ms);
  }

  async #round(): Promise<void> {
    let found = 0;
    try {
      if (await this.#leader.acquire()) found = await this.options.tick();
    } catch (error) {
      this.logger.error({ err: error, loop: this.options.name }, 'loop tick failed');
    }
    const woken = this.#woken;
    this.#woken = false;
    this.#schedule(woken ? 0 : found > 0 ? this.options.busyMs : this.options.idleMs);
  }
}

/**
 * A background loop whose rounds run on one replica at a time (ElectedLoop): a subclass names the
 * loop, gives its delays and implements `round`, and may ring a doorbell; starting, stopping and
 * waking are the elected loop's.
 */
export abstract class ElectedRounds implements BackgroundLoop {
  readonly #loop: ElectedLoop;

  protected constructor(databaseUrl: string, logger: Logger, options: Omit<ElectedLoopOptions, 'tick' | 'wakeOn'>) {
    this.#loop = new ElectedLoop(databaseUrl, logger, {
      ...options,
      tick: () => this.round(),
      wakeOn: (wake) => this.doorbell(wake),
    });
  }

  /** One idempotent round on the leading replica; returns how much work it found. */
  protected abstract round(): Promise<number>;

  /** Subscribes `wake` to a notice that new work may be there (ElectedLoopOptions.wakeOn); none unless overridden. */
  protected doorbell(_wake: () => void): (() => void) | null | undefined {
    return null;
  }

  start(): void {
    this.#loop.start();
  }

  /** Waits for a round under way, then lets another replica lead. */
  stop(): Promise<void> {
    return this.#loop.stop();
  }

  /** A latency hint: a round now rather than at the next interval (ElectedLoop.wake). */
  wake(): void {
    this.#loop.wake();
  }
}
