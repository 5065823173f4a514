import { appendFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LogLineInput } from '@outpost/sdk/contracts';

/** A numbered log line as it is sent to the API and kept in the spool. */
export type NumberedLine = LogLineInput & { seq: number; stream: NonNullable<LogLineInput['stream']> };

export interface SpoolContents {
  /** Lines not yet acknowledged, in sequence order. */
  unacked: NumberedLine[];
  /** Highest sequence number acknowledged by the API. */
  ackedThrough: number;
  /** Highest sequence number ever spooled. */
  maxSeq: number;
}

const FILE = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})-(\d+)\.ndjson$/;

/**
 * An append-only file `<dir>/<runId>-<attempt>.ndjson` holding log lines the API has not
 * acknowledged yet, and `{"ack": seq}` markers as batches get through. Appending, never rewriting,
 * means a crash mid-write can at worst leave one torn last record, which the reader skips.
 */
export class LogSpool {
  readonly path: string;
  private dirReady = false;

  constructor(
    private readonly dir: string,
    runId: string,
    attempt: number,
  ) {
    this.path = join(dir, `${runId}-${attempt}.ndjson`);
  }

  read(): SpoolContents | null {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch {
      return null;
    }
    let ackedThrough = 0;
    let maxSeq = 0;
    const bySeq = new Map<number, NumberedLine>();
    for (const row of text.split('\n')) {
      if (!row) continue;
      let record: unknown;
      try {
        record = JSON.parse(row);
      } catch {
        continue;
      }
      if (!record || typeof record !== 'object') continue;
      const r = record as Record<string, unknown>;
      if (typeof r.ack === 'number') ackedThrough = Math.max(ackedThrough, r.ack);
      else if (typeof r.seq === 'number' && typeof r.message === 'string') {
        maxSeq = Math.max(maxSeq, r.seq);
        if (!bySeq.has(r.seq)) bySeq.set(r.seq, r as unknown as NumberedLine);
      }
    }
    const unacked = [...bySeq.values()].filter((l) => l.seq > ackedThrough).sort((a, b) => a.seq - b.seq);
    return { unacked, ackedThrough, maxSeq: Math.max(maxSeq, ackedThrough) };
  }

  /** Synchronous on purpose: a line the worker says is spooled must be on disk even if the process dies next. */
  appendLines(lines: readonly NumberedLine[]): void {
    if (lines.length === 0) return;
    this.write(`${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  }

  appendAck(seq: number): void {
    this.write(`${JSON.stringify({ ack: seq })}\n`);
  }

  remove(): void {
    rmSync(this.path, { force: true });
  }

  private write(text: string): void {
    if (!this.dirReady) {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      this.dirReady = true;
    }
    appendFileSync(this.path, text, { mode: 0o600 });
  }
}

/** Spool files left in `dir` by an earlier worker process. */
export function listSpools(dir: string): Array<{ runId: string; attempt: number }> {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const found: Array<{ runId: string; attempt: number }> = [];
  for (const name of names) {
    const match = FILE.exec(name);
    if (match?.[1] && match[2]) found.push({ runId: match[1], attempt: Number(match[2]) });
  }
  return found;
}
