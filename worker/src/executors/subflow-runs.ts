import type { LogInput, LogShipper } from '../ship-logs.js';

/**
 * The subflow runs a flow process started through this worker (`createChildRun`), each with its own
 * log shipper. The runtime names a subflow run by id on its requests; only ids in here are accepted,
 * so a flow process cannot direct the run token at any run the worker did not create for it.
 */
export class SubflowRuns {
  private readonly shippers = new Map<string, LogShipper>();

  constructor(
    /** The run attempt the subflow runs belong to (they carry its attempt). */
    readonly attempt: number,
    private readonly makeShipper: (runId: string) => LogShipper,
  ) {}

  add(runId: string): void {
    if (!this.shippers.has(runId)) this.shippers.set(runId, this.makeShipper(runId));
  }

  has(runId: string): boolean {
    return this.shippers.has(runId);
  }

  /** Queues a log line of a subflow run; false when the id is not one of ours. */
  push(runId: string, line: LogInput): boolean {
    const shipper = this.shippers.get(runId);
    if (!shipper) return false;
    shipper.push(line);
    return true;
  }

  /** Waits (up to `timeoutMs`) until the subflow run's lines so far are delivered; true for an unknown id. */
  async flush(runId: string, timeoutMs: number): Promise<boolean> {
    return (await this.shippers.get(runId)?.flush(timeoutMs)) ?? true;
  }

  /** `<runId>-<attempt>` of each subflow run, as spool files are named. */
  spoolKeys(): string[] {
    return [...this.shippers.keys()].map((runId) => `${runId}-${this.attempt}`);
  }

  /** Delivers what is left (up to `timeoutMs`) and stops every shipper. */
  async close(timeoutMs: number): Promise<void> {
    await Promise.all([...this.shippers.values()].map((shipper) => shipper.close(timeoutMs)));
  }
}
