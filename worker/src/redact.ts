/**
 * Removes resolved secret values from text before it leaves the worker (log lines, state messages,
 * task names, artifacts), and from JSON — keys as well as values (event payloads, metadata,
 * parameters).
 *
 * Literal masking alone is defeated by a flow that prints a secret base64-encoded (the tj-actions
 * incident, 2025) or URL-encoded into a connection string, so every value is matched in each form
 * a flow is likely to print it in: raw, JSON-escaped (JavaScript, Python, PHP styles), URL-encoded
 * (component and whole-URL, either hex case, `+` for spaces), base64 (standard and URL-safe, padded
 * or not, at any alignment inside a longer encoded text) and hex.
 */

export const REDACTED = '***';

/**
 * Patterns shorter than this are never applied. A 1–3 character "secret" matches ordinary text so
 * often that redacting it would shred every log line while protecting nothing (three characters
 * fall to brute force anyway); the same floor applies to each derived form.
 */
export const MIN_REDACTED_LENGTH = 4;

function toUrlSafe(b64: string): string {
  return b64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * The base64 characters that depend only on the value's own bytes when the value sits at
 * `offset` (mod 3) inside a longer encoded text. Character 4g+r of a base64 string encodes bits of
 * bytes 3g (r=0), 3g..3g+1 (r=1), 3g+1..3g+2 (r=2) and 3g+2 (r=3); a character is stable when every
 * byte it depends on belongs to the value.
 */
function embeddedBase64(bytes: Buffer, offset: number): string {
  const padded = Buffer.concat([Buffer.alloc(offset), bytes, Buffer.alloc(3)]);
  const encoded = padded.toString('base64');
  const first = offset;
  const last = offset + bytes.length - 1;
  let out = '';
  for (let i = 0; i < encoded.length; i++) {
    const g = Math.floor(i / 4);
    const r = i % 4;
    const lo = 3 * g + (r === 0 ? 0 : r === 1 ? 0 : r === 2 ? 1 : 2);
    const hi = 3 * g + (r === 0 ? 0 : r === 1 ? 1 : r === 2 ? 2 : 2);
    if (lo >= first && hi <= last) out += encoded[i];
    else if (out.length > 0) break;
  }
  return out;
}

/** Every form of one secret value the redactor looks for. Exported for tests. */
export function secretForms(value: string): string[] {
  const forms = new Set<string>();
  const add = (form: string) => {
    if (form.length >= MIN_REDACTED_LENGTH) forms.add(form);
  };
  const variants = [value];
  // A multi-line value (a PEM key) reaches the logs one line at a time: each line is matched too.
  if (/\r?\n/.test(value)) {
    for (const line of value.split(/\r?\n/)) if (line.trim().length >= MIN_REDACTED_LENGTH) variants.push(line.trim());
  }
  for (const v of variants) {
    // The floor applies to the value itself first: a short value's encodings are longer, not safer to match.
    if (v.length < MIN_REDACTED_LENGTH) continue;
    add(v);
    const json = JSON.stringify(v).slice(1, -1);
    add(json);
    // Python's json.dumps (ensure_ascii) and PHP's json_encode escape every non-ASCII character, and PHP also '/'.
    const asciiJson = json.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
    add(asciiJson);
    add(asciiJson.replace(/\//g, '\\/'));
    const url = encodeURIComponent(v);
    add(url);
    add(url.replace(/%[0-9A-F]{2}/g, (m) => m.toLowerCase()));
    add(url.replace(/%20/g, '+'));
    // encodeURI leaves reserved characters (: / ? # @ & = + $ ,) as they are: a secret pasted into a whole URL.
    add(encodeURI(v));
    const bytes = Buffer.from(v, 'utf8');
    // Hex dumps (a digest-like print, `xxd -p`, Buffer#toString('hex')), both cases.
    add(bytes.toString('hex'));
    add(bytes.toString('hex').toUpperCase());
    const b64 = bytes.toString('base64');
    add(b64);
    add(b64.replace(/=+$/, ''));
    add(toUrlSafe(b64));
    for (let offset = 0; offset < 3; offset++) {
      const stable = embeddedBase64(bytes, offset);
      add(stable);
      add(toUrlSafe(stable));
    }
  }
  return [...forms];
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class Redactor {
  private readonly pattern: RegExp | null;
  /** How many distinct patterns are applied; for diagnostics, never the patterns themselves. */
  readonly size: number;

  constructor(values: Iterable<string>) {
    const forms = new Set<string>();
    for (const value of values) for (const form of secretForms(value)) forms.add(form);
    // Longest first, so a whole encoded value is replaced before a shorter form inside it.
    const sorted = [...forms].sort((a, b) => b.length - a.length);
    this.size = sorted.length;
    this.pattern = sorted.length > 0 ? new RegExp(sorted.map(escapeRegExp).join('|'), 'g') : null;
  }

  redact(text: string): string {
    if (!this.pattern || text.length < MIN_REDACTED_LENGTH) return text;
    return text.replace(this.pattern, REDACTED);
  }

  /**
   * Redacts every string inside a JSON value — object keys as well as string values — for anything
   * that leaves the worker as JSON (state data, event payloads, metadata, parameters). A key holding
   * a secret keeps its shape with the secret masked (`token-***`); when masking makes two keys of one
   * object the same, the later ones get `#2`, `#3`… so no entry is silently dropped. Numbers,
   * booleans and null are left as they are.
   */
  redactJson<T>(value: T): T {
    if (!this.pattern) return value;
    return this.walk(value) as T;
  }

  /** Whether `text` holds any form of a secret: for values that must reach the API exactly or not at all. */
  holdsSecret(text: string): boolean {
    return this.redact(text) !== text;
  }

  /** Whether any key or string value inside a JSON value holds a secret. */
  jsonHoldsSecret(value: unknown): boolean {
    if (!this.pattern) return false;
    if (typeof value === 'string') return this.holdsSecret(value);
    if (Array.isArray(value)) return value.some((v) => this.jsonHoldsSecret(v));
    if (value !== null && typeof value === 'object') {
      return Object.entries(value).some(([k, v]) => this.holdsSecret(k) || this.jsonHoldsSecret(v));
    }
    return false;
  }

  private walk(value: unknown): unknown {
    if (typeof value === 'string') return this.redact(value);
    if (Array.isArray(value)) return value.map((v) => this.walk(v));
    if (value !== null && typeof value === 'object') {
      const entries = Object.entries(value);
      const keys = entries.map(([k]) => this.redact(k));
      // Keys that held no secret keep their names; a masked key that meets a name already taken is numbered.
      const taken = new Set(keys.filter((k, i) => k === entries[i]![0]));
      const out: Record<string, unknown> = {};
      entries.forEach(([k, v], i) => {
        let key = keys[i]!;
        if (key !== k) {
          let n = 1;
          const base = key;
          while (taken.has(key)) key = `${base}#${++n}`;
          taken.add(key);
        }
        // defineProperty, so a key named `__proto__` stays an entry instead of replacing the prototype.
        Object.defineProperty(out, key, { value: this.walk(v), enumerable: true, writable: true, configurable: true });
      });
      return out;
    }
    return value;
  }
}
