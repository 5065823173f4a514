/** One scrape of a Prometheus text exposition: a sample's value by name and labels. */
export interface Scrape {
  text: string;
  /** The sample's value; undefined when the scrape has no such sample. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function key(name: string, labels: Record<string, string>): string {
  return `${name}${JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)))}`;
}

/** Parses the text format (version 0.0.4); a line that is neither a comment nor a sample fails the test. */
export function parseExposition(text: string): Scrape {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const [, name = '', rawLabels = '', raw = ''] = match;
    const labels: Record<string, string> = {};
    for (const [, label = '', value = ''] of rawLabels.matchAll(LABEL)) labels[label] = value.replace(/\\(.)/g, '$1');
    const special: Record<string, number> = {
      '+inf': Number.POSITIVE_INFINITY,
      '-inf': Number.NEGATIVE_INFINITY,
      nan: Number.NaN,
    };
    values.set(key(name, labels), special[raw.toLowerCase()] ?? Number(raw));
  }
  return { text, value: (name, labels = {}) => values.get(key(name, labels)) };
}
