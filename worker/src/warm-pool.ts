import type { Logger } from 'pino';
import type { FlowProcess } from './executors/flow-process.js';
import type { PreloadedMessage } from './executors/messages.js';

/** How long a warm process may wait for its deployment's next run before it is stopped. @default */
export const WARM_IDLE_MS = 10 * 60_000;
/** Deployment versions remembered as not warmable; the oldest is forgotten past this. */
const MAX_REFUSED = 1_000;

export interface WarmPoolOptions {
  /** How many warm processes to keep at most; 0 turns warm starts off. */
  size: number;
  /** A started flow process that has said `ready` or will (from the pre-started pool, or spawned). */
  obtain: () => Promise<FlowProcess>;
  logger: Logger;
  /** @default WARM_IDLE_MS */
  idleMs?: number;
}

/** What to warm: one deployment version's bundle, held in the cache until the process is used or stopped. */
export interface WarmTarget {
  /** Deployment, pinned version (digest or commit) and entry module: a process is only ever used for the same three. */
  key: string;
  entry: string;
  dir: string;
  /** Variables every run of this version has with the same value (`OUTPOST_BUNDLE_DIR`), set for the import. */
  env: Record<string, string>;
  /** Every variable the import sees: the worker's shared ones and `env`. */
  seen: Record<string, string>;
  /** Releases the pool's own hold on the bundle's files (`holdBundle`): called once the process is used or stopped. */
  release: () => void;
}

export type WarmTake = { kind: 'warm'; proc: FlowProcess } | { kind: 'cold'; reason: string | null };

interface Entry {
  key: string;
  seen: Record<string, string>;
  proc: FlowProcess;
  /** The runner's answer to `preload`; null if it exited first. */
  loaded: Promise<PreloadedMessage | null>;
  release: () => void;
  idleTimer: NodeJS.Timeout;
}

/**
 * Why a preloaded process cannot take a run with these variables, or null if it can. The import ran
 * with only the variables every run of the worker shares: one that read a variable the run sets (or
 * listed them all) saw a different environment than the run would give it.
 */
export function warmRefusal(
  answer: PreloadedMessage | null,
  runEnv: Record<string, string>,
  seen: Record<string, string | undefined> = {},
): string | null {
  if (answer === null) return 'the process importing its code ahead of the run exited';
  if (!answer.ok) return `importing its code ahead of the run failed (${answer.error ?? 'no reason given'})`;
  if (answer.envListed) return "its code lists the whole environment when imported, before the run's variables are set";
  const read = answer.envReads.filter((name) => Object.hasOwn(runEnv, name) && runEnv[name] !== seen[name]);
  if (read.length > 0) {
    const names = read.slice(0, 5).join(', ') + (read.length > 5 ? ` and ${read.length - 5} more` : '');
    return `its code reads ${names} when imported, before the run's variables are set`;
  }
  return null;
}

/**
 * Warm starts: flow processes that have already imported one deployment version's bundle, so that
 * version's next run skips both the process start and the import. A process is made after a run of
 * the version was handed over (the worker knows then that it runs here and has fetched and verified
 * its code), holds nothing of that run, and takes exactly one later run of the same deployment,
 * version and entry module, then exits like any flow process. The import sees only the variables
 * every run of this worker shares: the run's own, secrets included, arrive with `start`. An import
 * that read one of them is caught by name, and that version is not warmed again.
 *
 * At most `size` processes, one per version; the least recently warmed is stopped to make room, and
 * one unused for `idleMs` is stopped too.
 */
export class WarmPool {
  private readonly entries = new Map<string, Entry>();
  private readonly refused = new Map<string, string>();
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: WarmPoolOptions) {
    this.log = options.logger.child({ component: 'warm-pool' });
  }

  /** The warm process of `key`, once it has imported its bundle, if these variables allow it. */
  async take(key: string, runEnv: Record<string, string>): Promise<WarmTake> {
    const entry = this.entries.get(key);
    if (!entry) return { kind: 'cold', reason: null };
    this.forget(entry);
    const refusal =
      warmRefusal(await entry.loaded, runEnv, entry.seen) ?? (entry.proc.connected ? null : 'the warm process exited');
    if (refusal !== null) {
      this.refuse(key, refusal);
      void this.discard(entry);
      return { kind: 'cold', reason: refusal };
    }
    return { kind: 'warm', proc: entry.proc };
  }

  /** Keeps a process with `target`'s bundle imported for its next run, unless one is kept already. */
  warm(target: WarmTarget): void {
    if (this.stopped || this.options.size === 0 || this.entries.has(target.key) || this.refused.has(target.key)) {
      target.release();
      return;
    }
    while (this.entries.size >= this.options.size) {
      const oldest = this.entries.values().next().value as Entry;
      this.forget(oldest);
      void this.discard(oldest);
    }
    const obtained = this.options.obtain().catch((error: unknown) => {
      this.log.warn({ err: error }, 'could not start a warm flow process');
      return null;
    });
    void obtained.then(async (proc) => {
      if (proc === null) {
        target.release();
        return;
      }
      if (this.stopped || this.entries.has(target.key)) {
        target.release();
        await stopProcess(proc);
        return;
      }
      const entry: Entry = {
        key: target.key,
        seen: target.seen,
        proc,
        loaded: proc.preload(target.entry, target.dir, target.env),
        release: target.release,
        idleTimer: setTimeout(() => {
          if (this.entries.get(target.key) !== entry) return;
          this.forget(entry);
          void this.discard(entry);
        }, this.options.idleMs ?? WARM_IDLE_MS),
      };
      entry.idleTimer.unref();
      this.entries.set(target.key, entry);
      const asked = performance.now();
      void entry.loaded.then((answer) => {
        const refusal = answer === null || !answer.ok ? warmRefusal(answer, {}) : null;
        if (this.entries.get(target.key) !== entry) return;
        if (refusal === null) {
          this.log.info(
            { version: target.key, pid: proc.pid, importMs: Math.round(performance.now() - asked) },
            'warm flow process ready',
          );
          return;
        }
        this.refuse(target.key, refusal);
        this.forget(entry);
        void this.discard(entry);
      });
      void proc.exited.then(() => {
        if (this.entries.get(target.key) !== entry) return;
        this.forget(entry);
        void this.discard(entry);
      });
    });
  }

  /** Stops every warm process and warms no more. */
  async stop(): Promise<void> {
    this.stopped = true;
    const waiting = [...this.entries.values()];
    for (const entry of waiting) this.forget(entry);
    await Promise.all(waiting.map((entry) => this.discard(entry)));
  }

  private forget(entry: Entry): void {
    clearTimeout(entry.idleTimer);
    if (this.entries.get(entry.key) === entry) this.entries.delete(entry.key);
  }

  private async discard(entry: Entry): Promise<void> {
    try {
      await stopProcess(entry.proc);
    } finally {
      entry.release();
    }
  }

  private refuse(key: string, reason: string): void {
    if (this.refused.has(key)) return;
    this.log.warn({ version: key, reason }, 'this deployment version is not warmed: its next runs start in a fresh process');
    this.refused.set(key, reason);
    if (this.refused.size > MAX_REFUSED) this.refused.delete(this.refused.keys().next().value as string);
  }
}

async function stopProcess(proc: FlowProcess): Promise<void> {
  await proc.kill();
  await proc.reap(0);
}
