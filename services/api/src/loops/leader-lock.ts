import postgres from 'postgres';
import type { Logger } from '../logger.js';

/**
 * Leadership for one loop across API replicas: a session advisory lock held on a dedicated
 * connection. Whoever holds it runs the loop; if that connection drops, Postgres releases the lock
 * and another replica takes over on its next try.
 */
export class LeaderLock {
  #sql: postgres.Sql | null = null;
  #held = false;

  constructor(
    private readonly url: string,
    private readonly name: string,
    private readonly logger: Logger,
  ) {}

  /** Whether this process held the lock when it last looked (no query). */
  get held(): boolean {
    return this.#held;
  }

  /** True when this process holds (or just took) the lock. Never throws. */
  async acquire(): Promise<boolean> {
    try {
      if (!this.#sql) {
        const sql = postgres(this.url, {
          max: 1,
          idle_timeout: 0,
          max_lifetime: null,
          onnotice: () => {},
          // Advisory locks take no arrays; see connectDatabase for why a type fetch per connection is avoided.
          fetch_types: false,
          connection: { application_name: `outpost-leader-${this.name}` },
          // A closed session has lost the lock, even if the next query reconnects transparently.
          onclose: () => {
            this.#held = false;
          },
        });
        this.#sql = sql;
      }
      if (this.#held) {
        await this.#sql`SELECT 1`;
        if (this.#held) return true;
      }
      const [row] = await this.#sql<
        { locked: boolean }[]
      >`SELECT pg_try_advisory_lock(hashtext(${`outpost.loop.${this.name}`})) AS locked`;
      const was = this.#held;
      this.#held = row?.locked ?? false;
      if (this.#held && !was) this.logger.info({ loop: this.name }, 'this replica now runs the loop');
      return this.#held;
    } catch (error) {
      this.logger.warn({ err: error, loop: this.name }, 'leader election failed; will retry');
      await this.release();
      return false;
    }
  }

  /** Ends the dedicated connection, which releases the lock. */
  async release(): Promise<void> {
    const sql = this.#sql;
    this.#sql = null;
    this.#held = false;
    if (sql) await sql.end({ timeout: 1 }).catch(() => undefined);
  }
}
