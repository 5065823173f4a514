import type { Machine } from './machine.js';
import type { Row } from './row.js';

export interface ReportedModule {
  module: string;
  rows: Row[];
  notes: string | null;
  error: string | null;
  seconds: number;
}

/** Enough digits to compare, no more: 12,345 · 123 · 12.3 · 1.23 · 0.0123. */
export function formatNumber(value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return value.toFixed(1);
  if (abs >= 1 || abs === 0) return value.toFixed(2);
  return value.toPrecision(3);
}

const COLUMNS = ['name', 'value', 'unit', 'baseline', 'ratio'] as const;

function cells(row: Row): string[] {
  return [
    row.name,
    formatNumber(row.value),
    row.unit,
    formatNumber(row.baseline),
    row.ratio === null ? '—' : `${formatNumber(row.ratio)}×`,
  ];
}

/** The table for a terminal: columns padded, numbers right-aligned. */
export function formatTable(rows: readonly Row[]): string {
  if (rows.length === 0) return '(no rows)';
  const table = [COLUMNS as readonly string[], ...rows.map(cells)];
  const widths = COLUMNS.map((_, i) => Math.max(...table.map((r) => (r[i] ?? '').length)));
  const numeric = [false, true, false, true, true];
  const line = (r: readonly string[]) =>
    r
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(table[0] ?? []), widths.map((w) => '-'.repeat(w)).join('  '), ...table.slice(1).map(line)].join('\n');
}

function markdownTable(rows: readonly Row[]): string[] {
  return [
    '| name | value | unit | baseline | ratio |',
    '|---|---:|---|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${cells(r)
          .map((c) => c.replace(/\|/g, '\\|'))
          .join(' | ')} |`,
    ),
  ];
}

/** The results file: the machine, the table, what each baseline is, and any module that failed. */
export function renderResults(input: {
  date: string;
  machine: Machine;
  results: readonly ReportedModule[];
  /** Other work on the machine while the suite ran skews the figures; the results say how much there was. */
  loadAverageAtEnd: number;
}): string {
  const { machine, results } = input;
  const rows = results.flatMap((r) => r.rows);
  // Rows that share a baseline (one note) are listed together under it.
  const byNote = new Map<string, string[]>();
  for (const r of rows) if (r.note) byNote.set(r.note, [...(byNote.get(r.note) ?? []), r.name]);
  const notes = [...byNote].map(([note, names]) => `- ${names.map((n) => `**${n}**`).join(', ')}: ${note}`);
  const lines = [
    `# Benchmarks, ${input.date}`,
    '',
    'Produced by `npm run bench` (test/bench/run.ts); see test/bench/README.md for what each figure measures.',
    '',
    '## Machine',
    '',
    `- CPU: ${machine.cpuModel} × ${machine.cpuCount}`,
    `- Memory: ${machine.memoryGiB} GiB`,
    `- OS: ${machine.os}`,
    `- Node: ${machine.node}`,
    `- Postgres: ${machine.postgres}${machine.embeddedPostgres ? ' (embedded)' : ''}, on the same machine`,
    `- Load average (1 min) when the suite started: ${machine.loadAverage}; when it ended: ${input.loadAverageAtEnd}`,
    '',
    '## Results',
    '',
    'ratio = value ÷ baseline: for times, above 1× is slower than the baseline; for rates, below 1× is less throughput.',
    '',
    ...markdownTable(rows),
    '',
  ];
  if (notes.length > 0) lines.push('### Baselines', '', ...notes, '');
  const extra = results.filter((r) => r.notes);
  for (const r of extra) lines.push(r.notes?.trim() ?? '', '');
  lines.push('## Modules', '', '| module | rows | seconds | outcome |', '|---|---:|---:|---|');
  for (const r of results) {
    const outcome = r.error ? `failed: ${r.error.split('\n')[0]?.replace(/\|/g, '\\|')}` : 'ok';
    lines.push(`| ${r.module} | ${r.rows.length} | ${r.seconds.toFixed(1)} | ${outcome} |`);
  }
  lines.push('');
  return lines.join('\n');
}
