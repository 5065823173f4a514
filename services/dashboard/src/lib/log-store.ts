import type { LogLevel, LogLine } from '@outpost/sdk/contracts';

export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warning', 'error', 'critical'];

const RANK: Record<LogLevel, number> = { debug: 0, info: 1, warning: 2, error: 3, critical: 4 };

export interface LogFilter {
  /** Lines at this level and above. */
  minLevel: LogLevel;
  /** Case-insensitive substring of the message; empty matches everything. */
  query: string;
}

export const ALL_LOGS: LogFilter = { minLevel: 'debug', query: '' };

/**
 * Every log line of a run, in arrival order, each kept once by (attempt, seq): a re-read after a
 * reconnect or an overlapping poll adds nothing twice. Lower-cased messages are kept beside the
 * lines so a search is one pass of `includes` with no allocation per line.
 */
export class LogStore {
  readonly lines: LogLine[] = [];
  private readonly lowered: string[] = [];
  private readonly ranks: number[] = [];
  private readonly seen = new Set<number>();

  get size(): number {
    return this.lines.length;
  }

  /** Adds the lines not seen before; returns how many were added. */
  append(batch: readonly LogLine[]): number {
    let added = 0;
    for (const line of batch) {
      // seq stays far below 2^32 per attempt, so this packs both into one exact double
      const key = line.attempt * 4_294_967_296 + line.seq;
      if (this.seen.has(key)) continue;
      this.seen.add(key);
      this.lines.push(line);
      this.lowered.push(line.message.toLowerCase());
      this.ranks.push(RANK[line.level]);
      added++;
    }
    return added;
  }

  /** True when line `i` passes the filter; `query` must already be lower-cased. */
  matchesAt(i: number, minRank: number, query: string): boolean {
    return (this.ranks[i] ?? -1) >= minRank && (query === '' || (this.lowered[i] ?? '').includes(query));
  }
}

/**
 * The lines of a store that pass one filter, as indices into `store.lines`. Lines appended later
 * are picked up by `refresh()` without rescanning old ones; narrowing a search (typing more of a
 * word) only rescans the current matches.
 */
export class LogView {
  private indices: number[] = [];
  private scanned = 0;
  private filter: LogFilter;
  private query: string;

  constructor(
    private readonly store: LogStore,
    filter: LogFilter = ALL_LOGS,
  ) {
    this.filter = filter;
    this.query = filter.query.toLowerCase();
    this.refresh();
  }

  get length(): number {
    return this.indices.length;
  }

  get current(): LogFilter {
    return this.filter;
  }

  /** The i-th matching line. */
  at(i: number): LogLine | undefined {
    const index = this.indices[i];
    return index === undefined ? undefined : this.store.lines[index];
  }

  /** Position in `store.lines` of the i-th matching line. */
  storeIndexAt(i: number): number | undefined {
    return this.indices[i];
  }

  /**
   * Where to jump to see why the run failed: the first error (or critical) line of the latest
   * attempt that has one, as a position in this view; null when the view shows none.
   */
  firstFailure(): number | null {
    let found: number | null = null;
    let attempt = -1;
    for (let i = 0; i < this.indices.length; i++) {
      const line = this.store.lines[this.indices[i] as number] as LogLine;
      if ((line.level === 'error' || line.level === 'critical') && line.attempt > attempt) {
        found = i;
        attempt = line.attempt;
      }
    }
    return found;
  }

  /** True when the i-th matching line starts a new attempt (after lines of an earlier one). */
  startsAttempt(i: number): boolean {
    if (i === 0) return false;
    const line = this.at(i);
    const before = this.at(i - 1);
    return line !== undefined && before !== undefined && line.attempt !== before.attempt;
  }

  /** Scans lines appended since the last call; returns how many new matches it found. */
  refresh(): number {
    const before = this.indices.length;
    const minRank = RANK[this.filter.minLevel];
    const end = this.store.size;
    for (let i = this.scanned; i < end; i++) {
      if (this.store.matchesAt(i, minRank, this.query)) this.indices.push(i);
    }
    this.scanned = end;
    return this.indices.length - before;
  }

  setFilter(next: LogFilter): void {
    const query = next.query.toLowerCase();
    const narrowing = RANK[next.minLevel] >= RANK[this.filter.minLevel] && query.includes(this.query);
    const minRank = RANK[next.minLevel];
    if (narrowing) {
      this.indices = this.indices.filter((i) => this.store.matchesAt(i, minRank, query));
    } else {
      this.indices = [];
      this.scanned = 0;
    }
    this.filter = next;
    this.query = query;
    this.refresh();
  }
}
