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
   * The export is of every entry (no filter but, at most, a start time): each workspace's chain must
   * then run without a gap from its first entry to its end, and reach every head and anchor.
   */
  complete: boolean;
  /**
   * Heads kept from an earlier verification: the chain must still pass through each of them with the
   * same hash, or the history before it was rewritten since.
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
  readonly #anchors: readonly AuditChainHead[];
  /** The hash found at each anchor's place, once an entry there has been read. */
  readonly #atAnchors = new Map<string, string>();
  readonly #chains = new Map<string, AuditChainReport>();

  constructor(options: AuditChainOptions) {
    this.#complete = options.complete;
    this.#anchors = options.anchors ?? [];
    for (const a of this.#anchors) this.#atAnchors.set(placeKey(a.workspaceId, a.seq), '');
  }

  add(entry: AuditEntry): void {
    const { seq, prev, hash } = entry.chain;
    const chain = this.#chain(entry.workspaceId);
    const where = `entry ${entry.id} (place ${seq})`;
    if (auditEntryHash(prev, entry) !== hash) {
      chain.problems.push(`${where}: its content does not match its hash; it was changed after it was written`);
    }
    if (chain.lastSeq === null) {
      chain.firstSeq = seq;
      if (seq === '1' && prev !== AUDIT_CHAIN_GENESIS) chain.problems.push(`${where}: the first entry does not start the chain`);
    } else {
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
    if (this.#atAnchors.has(key)) this.#atAnchors.set(key, hash);
    chain.entries += 1;
    chain.lastSeq = seq;
    chain.lastHash = hash;
  }

  /**
   * Each workspace's report, once every entry was added. `heads` are the chains' heads read before
   * the export began: a complete export must reach each of them, and agree with its hash there.
   */
  finish(heads: readonly AuditChainHead[] = []): AuditChainReport[] {
    for (const head of heads) {
      if (head.seq === '0' || !this.#complete) continue;
      const chain = this.#chain(head.workspaceId);
      if (chain.lastSeq === null) chain.problems.push(`the export holds none of its ${head.seq} entries`);
      else if (seqOf(chain.lastSeq) < seqOf(head.seq)) {
        chain.problems.push(
          `the export ends at place ${chain.lastSeq}, but the chain's head was at ${head.seq}: entries are missing at the end`,
        );
      }
    }
    for (const anchor of this.#anchors) {
      const seen = this.#atAnchors.get(placeKey(anchor.workspaceId, anchor.seq));
      if (seen === '') {
        if (this.#complete)
          this.#chain(anchor.workspaceId).problems.push(`the export does not reach the anchor at place ${anchor.seq}`);
      } else if (seen !== anchor.hash) {
        this.#chain(anchor.workspaceId).problems.push(
          `the entry at place ${anchor.seq} is not the one verified before: history was rewritten since`,
        );
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
