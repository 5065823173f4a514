import { createHash } from 'node:crypto';
import type { AuditChainHead, AuditEntry } from './contracts/audit.js';

/**
 * Verifying a workspace's audit chain from an export, without trusting the server that wrote it.
 *
 * Each entry carries `chain: { seq, prev, hash }`, where
 *
 *     hash = hex(sha256(prev ‖ text))
 *
 * and `text` is the JSON array of the entry's fields (entryFields) as Postgres prints jsonb: keys
 * shortest first, then by their UTF-8 bytes; `", "` and `": "` between items; numbers in plain
 * decimal. The database computes the same text in its trigger (migration 0047_audit_chain), so a
 * single changed byte of an entry changes its hash, and the next entry's `prev` no longer matches.
 */

/** The `prev` of a workspace's first entry. */
export const AUDIT_CHAIN_GENESIS = '0'.repeat(64);

/** The fields an entry's hash covers, in order: all but the actor's label (read at export time). */
function entryFields(entry: AuditEntry): unknown[] {
  return [
    entry.workspaceId,
    entry.chain.seq,
    entry.id,
    entry.occurredAt,
    entry.actor.kind,
    entry.actor.id,
    entry.action,
    entry.method,
    entry.path,
    entry.status,
    entry.clientAddress,
    entry.userAgent,
    entry.requestId,
    entry.targetIds,
    entry.resultIds,
    entry.summary,
  ];
}

/** A string as Postgres escapes it in JSON: the two-character escapes, `\u00xx` below space, the rest as it is. */
function pgString(value: string): string {
  let out = '"';
  for (const ch of value) {
    switch (ch) {
      case '\b':
        out += '\\b';
        break;
      case '\f':
        out += '\\f';
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '"':
        out += '\\"';
        break;
      case '\\':
        out += '\\\\';
        break;
      default:
        out += ch < ' ' ? `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}` : ch;
    }
  }
  return `${out}"`;
}

/**
 * A number as Postgres prints the numeric a JavaScript number's JSON became: the same digits,
 * never in exponent form (1e+21 is 1 followed by 21 zeros, 1.5e-7 is 0.00000015).
 */
function pgNumber(value: number): string {
  if (!Number.isFinite(value)) throw new Error(`an audit entry cannot hold the number ${value}`);
  const text = String(value);
  const exponent = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(text);
  if (!exponent) return text;
  const [, sign = '', whole = '', fraction = '', power = '0'] = exponent;
  const digits = whole + fraction;
  const point = whole.length + Number(power);
  if (point <= 0) return `${sign}0.${'0'.repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${'0'.repeat(point - digits.length)}`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

const encoder = new TextEncoder();

/** jsonb's order of object keys: shorter (in UTF-8 bytes) first, then bytewise. */
function jsonbKeyOrder(a: string, b: string): number {
  const x = encoder.encode(a);
  const y = encoder.encode(b);
  if (x.length !== y.length) return x.length - y.length;
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
}

/** A JSON value printed as Postgres prints the jsonb holding it. */
export function jsonbText(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return pgNumber(value);
  if (typeof value === 'string') return pgString(value);
  if (Array.isArray(value)) return `[${value.map(jsonbText).join(', ')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const keys = Object.keys(record).filter((k) => record[k] !== undefined);
    return `{${keys
      .sort(jsonbKeyOrder)
      .map((k) => `${pgString(k)}: ${jsonbText(record[k])}`)
      .join(', ')}}`;
  }
  throw new Error(`an audit entry cannot hold a ${typeof value}`);
}

/** The text an entry's hash covers. */
export function auditEntryText(entry: AuditEntry): string {
  return jsonbText(entryFields(entry));
}

/** The hash of an entry that follows `prev` in its chain. */
export function auditEntryHash(prev: string, entry: AuditEntry): string {
  return createHash('sha256')
    .update(prev + auditEntryText(entry), 'utf8')
    .digest('hex');
}

/** What verification found in one workspace's part of an export. */
export interface AuditChainReport {
  workspaceId: string;
  /** Entries read and whose hash matched their content. */
  entries: number;
  /** The first and last place of the chain the export holds (null when it holds none). */
  firstSeq: string | null;
  lastSeq: string | null;
  /** The hash of the last entry read: what to keep as an anchor for the next verification. */
  lastHash: string | null;
  /** Places missing between entries the export holds: expected of a filtered export, a breach of a complete one. */
  gaps: { afterSeq: string; beforeSeq: string }[];
  problems: string[];
}

export interface AuditChainOptions {
  /**
   * The export is of every entry of its workspaces: each chain must then run without a gap from its
   * first entry (place 1, after 64 zeros) or from right after its anchor, to at least its head.
   * A filtered export is not complete: its gaps are reported as gaps, not as problems.
   */
  complete: boolean;
  /**
   * The chains' heads, read before the export began: a complete export must reach each of them, and
   * hold the same hash there.
   */
  heads?: readonly AuditChainHead[];
  /**
   * Heads kept from an earlier verification: the chain must still pass through each of them with the
   * same hash, or the history before it was rewritten since. An anchor of a workspace this export
   * does not cover is left alone.
   */
  anchors?: readonly AuditChainHead[];
}

const seqOf = (seq: string) => BigInt(seq);
const placeKey = (workspaceId: string, seq: string) => `${workspaceId}:${seq}`;

/**
 * Reads an export's entries one at a time, in the order they come (every workspace's in chain
 * order, workspaces interleaved), and says for each workspace whether its chain holds.
 */
export class AuditChainVerifier {
  readonly #complete: boolean;
  readonly #heads: readonly AuditChainHead[];
  readonly #anchors: ReadonlyMap<string, AuditChainHead>;
  /** The hash found at each head's and anchor's place, once an entry there has been read ('' until then). */
  readonly #seenAt = new Map<string, string>();
  readonly #chains = new Map<string, AuditChainReport>();

  constructor(options: AuditChainOptions) {
    this.#complete = options.complete;
    this.#heads = (options.heads ?? []).filter((h) => h.seq !== '0');
    this.#anchors = new Map((options.anchors ?? []).map((a) => [a.workspaceId, a]));
    for (const place of [...this.#heads, ...this.#anchors.values()]) this.#seenAt.set(placeKey(place.workspaceId, place.seq), '');
  }

  add(entry: AuditEntry): void {
    const { seq, prev, hash } = entry.chain;
    const chain = this.#chain(entry.workspaceId);
    const where = `entry ${entry.id} (place ${seq})`;
    if (auditEntryHash(prev, entry) !== hash) {
      chain.problems.push(`${where}: its content does not match its hash; it was changed after it was written`);
    }
    if (chain.lastSeq === null) this.#first(chain, entry);
    else {
      const expected = seqOf(chain.lastSeq) + 1n;
      const got = seqOf(seq);
      if (got < expected) {
        chain.problems.push(`${where}: comes after place ${chain.lastSeq}; the export repeats or reorders entries`);
      } else if (got > expected) {
        chain.gaps.push({ afterSeq: chain.lastSeq, beforeSeq: seq });
        if (this.#complete) chain.problems.push(`${where}: places ${expected} to ${got - 1n} are missing`);
      } else if (prev !== chain.lastHash) {
        chain.problems.push(`${where}: does not follow the entry before it (place ${chain.lastSeq}); an entry was replaced`);
      }
    }
    const key = placeKey(entry.workspaceId, seq);
    if (this.#seenAt.has(key)) this.#seenAt.set(key, hash);
    chain.entries += 1;
    chain.lastSeq = seq;
    chain.lastHash = hash;
  }

  /** A workspace's first entry in the export: where a complete export may start. */
  #first(chain: AuditChainReport, entry: AuditEntry): void {
    const { seq, prev } = entry.chain;
    chain.firstSeq = seq;
    const where = `entry ${entry.id} (place ${seq})`;
    if (seq === '1') {
      if (prev !== AUDIT_CHAIN_GENESIS) chain.problems.push(`${where}: the first entry does not start the chain`);
      return;
    }
    if (!this.#complete) return;
    const anchor = this.#anchors.get(entry.workspaceId);
    if (anchor && seqOf(seq) <= seqOf(anchor.seq)) return; // the anchor's own check follows
    if (anchor && seqOf(seq) === seqOf(anchor.seq) + 1n) {
      if (prev !== anchor.hash) {
        chain.problems.push(`${where}: does not follow the anchor at place ${anchor.seq}: history was rewritten since`);
      }
      return;
    }
    const from = anchor ? seqOf(anchor.seq) + 1n : 1n;
    chain.problems.push(`${where}: the export starts here, so places ${from} to ${seqOf(seq) - 1n} are missing`);
  }

  /** Each workspace's report, once every entry was added. */
  finish(): AuditChainReport[] {
    if (this.#complete) {
      for (const head of this.#heads) {
        const chain = this.#chain(head.workspaceId);
        const seen = this.#seenAt.get(placeKey(head.workspaceId, head.seq));
        if (chain.lastSeq === null) chain.problems.push(`the export holds none of its ${head.seq} entries`);
        else if (seqOf(chain.lastSeq) < seqOf(head.seq)) {
          chain.problems.push(
            `the export ends at place ${chain.lastSeq}, but the chain's head was at ${head.seq}: entries are missing at the end`,
          );
        } else if (seen && seen !== head.hash) {
          chain.problems.push(`the entry at place ${head.seq} is not the chain's head the server holds: the log was rewritten`);
        }
      }
    }
    for (const anchor of this.#anchors.values()) {
      const chain = this.#chains.get(anchor.workspaceId);
      if (!chain) continue;
      const seen = this.#seenAt.get(placeKey(anchor.workspaceId, anchor.seq));
      if (seen === '') {
        const before = chain.firstSeq !== null && seqOf(chain.firstSeq) === seqOf(anchor.seq) + 1n;
        if (this.#complete && !before) chain.problems.push(`the export does not reach the anchor at place ${anchor.seq}`);
      } else if (seen !== anchor.hash) {
        chain.problems.push(`the entry at place ${anchor.seq} is not the one verified before: history was rewritten since`);
      }
    }
    return [...this.#chains.values()];
  }

  #chain(workspaceId: string): AuditChainReport {
    let chain = this.#chains.get(workspaceId);
    if (!chain) {
      chain = { workspaceId, entries: 0, firstSeq: null, lastSeq: null, lastHash: null, gaps: [], problems: [] };
      this.#chains.set(workspaceId, chain);
    }
    return chain;
  }
}
