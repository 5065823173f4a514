/**
 * A PromQL evaluator for the one expression shape the autoscaling examples use, over instant
 * samples as Prometheus would hold them after scraping several targets:
 *
 *   expr        := operand ('+' operand)*
 *   operand     := aggregation | selector | '(' expr ')'
 *   aggregation := ('sum' | 'max') ('by' '(' label (',' label)* ')')? '(' expr ')'
 *   selector    := metric ('{' label '=' "value" (',' label '=' "value")* '}')?
 *
 * with Prometheus's semantics for these: a selector keeps the series whose labels equal each
 * matcher (an absent label reads as ""); an aggregation groups by the listed labels and keeps only
 * them; `+` matches the two sides one-to-one on all labels but the metric name, drops series
 * without a partner, and refuses a side with two series of one label set. Anything else in a query
 * — another function, operator, matcher or modifier — throws, so a query that leaves this shape
 * fails the test rather than being read as something it is not.
 *
 * No npm package evaluates PromQL; Prometheus's own parser on npm (`@prometheus-io/lezer-promql`)
 * only parses, and the shape here is small enough to read whole.
 */

export type Labels = Record<string, string>;

/** One series at one instant; `__name__` is among the labels of a scraped series. */
export interface Sample {
  labels: Labels;
  value: number;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/;
const LABEL_PAIR = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function unquote(value: string): string {
  return value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

/**
 * The samples of one scrape in the Prometheus text format, with the target labels Prometheus adds
 * (`job`, `instance`) as `target`. A line it cannot read throws.
 */
export function parseScrape(text: string, target: Labels): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE_LINE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name = '', rawLabels = '', raw = ''] = match;
    const labels: Labels = { ...target, __name__: name };
    for (const [, label = '', value = ''] of rawLabels.matchAll(LABEL_PAIR)) labels[label] = unquote(value);
    const special: Record<string, number> = { '+inf': Infinity, '-inf': -Infinity, nan: Number.NaN };
    const value = special[raw.toLowerCase()] ?? Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') throw new Error(`not a sample value: ${line}`);
    samples.push({ labels, value });
  }
  return samples;
}

type Token = { kind: 'ident' | 'string' | 'punct'; text: string };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  const pattern = /\s+|([a-zA-Z_:][a-zA-Z0-9_:]*)|"((?:[^"\\]|\\.)*)"|([(){},=+])/y;
  while (pattern.lastIndex < query.length) {
    const at = pattern.lastIndex;
    const match = pattern.exec(query);
    if (!match) throw new Error(`unsupported PromQL at ${at}: ${query.slice(at, at + 20)}`);
    if (match[1] !== undefined) tokens.push({ kind: 'ident', text: match[1] });
    else if (match[2] !== undefined) tokens.push({ kind: 'string', text: unquote(match[2]) });
    else if (match[3] !== undefined) tokens.push({ kind: 'punct', text: match[3] });
  }
  return tokens;
}

function signature(labels: Labels): string {
  const kept = Object.entries(labels).filter(([name]) => name !== '__name__');
  return JSON.stringify(kept.sort(([a], [b]) => a.localeCompare(b)));
}

function withoutName(labels: Labels): Labels {
  const { __name__: _, ...rest } = labels;
  return rest;
}

class Evaluator {
  #tokens: Token[];
  #at = 0;
  readonly #samples: readonly Sample[];

  constructor(query: string, samples: readonly Sample[]) {
    this.#tokens = tokenize(query);
    this.#samples = samples;
  }

  run(): Sample[] {
    const result = this.#expr();
    const extra = this.#tokens[this.#at];
    if (extra) throw new Error(`unsupported PromQL: unexpected "${extra.text}"`);
    return result;
  }

  #peek(): Token | undefined {
    return this.#tokens[this.#at];
  }

  #take(kind: Token['kind'], text?: string): string {
    const token = this.#tokens[this.#at];
    if (!token || token.kind !== kind || (text !== undefined && token.text !== text)) {
      throw new Error(`unsupported PromQL: expected ${text ?? kind}, found ${token ? `"${token.text}"` : 'the end'}`);
    }
    this.#at++;
    return token.text;
  }

  #expr(): Sample[] {
    let left = this.#operand();
    while (this.#peek()?.text === '+' && this.#peek()?.kind === 'punct') {
      this.#at++;
      left = add(left, this.#operand());
    }
    return left;
  }

  #operand(): Sample[] {
    const token = this.#peek();
    if (token?.kind === 'punct' && token.text === '(') {
      this.#at++;
      const inner = this.#expr();
      this.#take('punct', ')');
      return inner;
    }
    const name = this.#take('ident');
    if (name === 'sum' || name === 'max') return this.#aggregation(name);
    return this.#selector(name);
  }

  #aggregation(op: 'sum' | 'max'): Sample[] {
    const by: string[] = [];
    if (this.#peek()?.text === 'by') {
      this.#at++;
      this.#take('punct', '(');
      by.push(this.#take('ident'));
      while (this.#peek()?.text === ',') {
        this.#at++;
        by.push(this.#take('ident'));
      }
      this.#take('punct', ')');
    }
    this.#take('punct', '(');
    const inner = this.#expr();
    this.#take('punct', ')');
    const groups = new Map<string, Sample>();
    for (const sample of inner) {
      const labels: Labels = {};
      for (const label of by) {
        const value = sample.labels[label];
        if (value) labels[label] = value;
      }
      const key = signature(labels);
      const group = groups.get(key);
      if (!group) groups.set(key, { labels, value: sample.value });
      else group.value = op === 'sum' ? group.value + sample.value : Math.max(group.value, sample.value);
    }
    return [...groups.values()];
  }

  #selector(metric: string): Sample[] {
    const matchers: [string, string][] = [];
    if (this.#peek()?.text === '{') {
      this.#at++;
      do {
        if (matchers.length > 0) this.#at++;
        const label = this.#take('ident');
        this.#take('punct', '=');
        matchers.push([label, this.#take('string')]);
      } while (this.#peek()?.text === ',');
      this.#take('punct', '}');
    }
    return this.#samples.filter(
      (s) => s.labels.__name__ === metric && matchers.every(([label, value]) => (s.labels[label] ?? '') === value),
    );
  }
}

/** One-to-one vector matching on every label but the metric name, as PromQL's `+` without `on`/`ignoring`. */
function add(left: Sample[], right: Sample[]): Sample[] {
  const bySignature = (side: Sample[], which: string) => {
    const map = new Map<string, Sample>();
    for (const sample of side) {
      const key = signature(sample.labels);
      if (map.has(key)) throw new Error(`many-to-many matching not allowed: two series ${key} on the ${which} side`);
      map.set(key, sample);
    }
    return map;
  };
  const rights = bySignature(right, 'right');
  const result: Sample[] = [];
  for (const [key, sample] of bySignature(left, 'left')) {
    const partner = rights.get(key);
    if (partner) result.push({ labels: withoutName(sample.labels), value: sample.value + partner.value });
  }
  return result;
}

/** The instant vector `query` answers over `samples`. */
export function evaluate(query: string, samples: readonly Sample[]): Sample[] {
  return new Evaluator(query, samples).run();
}
