import type { TestServer } from '../src/testing/index.js';

/** A metrics token for tests: 32+ visible characters, as OUTPOST_METRICS_TOKEN must be. */
export const METRICS_TOKEN = 'metrics-token-for-tests-0123456789abcdef';

export type Labels = Record<string, string>;

/** One scrape: every sample by name and labels, and the text as served. */
export interface Scrape {
  text: string;
  /** The sample's value, or 0 when the scrape has no such sample. */
  value(name: string, labels?: Labels): number;
  /** Every label set the scrape carries for a sample name. */
  labelSets(name: string): Labels[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function key(name: string, labels: Labels): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
}

/** Parses the Prometheus text format (version 0.0.4); a line it cannot read fails the test. */
export function parseExposition(text: string): Scrape {
  const values = new Map<string, number>();
  const sets = new Map<string, Labels[]>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name = '', rawLabels = '', raw = ''] = match;
    const labels: Labels = {};
    for (const [, label = '', value = ''] of rawLabels.matchAll(LABEL)) labels[label] = value.replace(/\\(.)/g, '$1');
    // Special values are case-insensitive, as Prometheus reads them (prom-client writes NaN as `Nan`).
    const special: Record<string, number> = {
      '+inf': Number.POSITIVE_INFINITY,
      '-inf': Number.NEGATIVE_INFINITY,
      nan: Number.NaN,
    };
    const value = special[raw.toLowerCase()] ?? Number(raw);
    if (Number.isNaN(value) && raw.toLowerCase() !== 'nan') throw new Error(`not a sample value: ${line}`);
    values.set(key(name, labels), value);
    sets.set(name, [...(sets.get(name) ?? []), labels]);
  }
  return {
    text,
    value: (name, labels = {}) => values.get(key(name, labels)) ?? 0,
    labelSets: (name) => sets.get(name) ?? [],
  };
}

/** Scrapes `/metrics` over real HTTP with the metrics token, as Prometheus does. */
export async function scrape(server: Pick<TestServer, 'url'>, token = METRICS_TOKEN): Promise<Scrape> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`scrape failed: ${res.status} ${text}`);
  return parseExposition(text);
}

/** How much each sample moved from one scrape to the next. */
export function delta(before: Scrape, after: Scrape, name: string, labels: Labels = {}): number {
  return after.value(name, labels) - before.value(name, labels);
}
