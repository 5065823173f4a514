import { visibleLength } from './style.js';

/** Formats rows as aligned columns; the last column is never padded. Cells may be coloured. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c + ' '.repeat(Math.max(0, (widths[i] ?? 0) - visibleLength(c)))))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

export function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** `2026-01-02T03:04:05.678Z` → `2026-01-02 03:04:05`, in UTC so output does not depend on the machine. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').slice(0, 19);
}
