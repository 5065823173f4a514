import { EXIT } from './cli-error.js';
import type { Output } from './command.js';
import { json } from './json.js';
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

export { json };

/**
 * A list as a command prints it: the items as JSON under --json; otherwise `empty` on stderr when
 * there are none and it is given (it says how to make one), or a table with a row per item.
 */
export function printList<T>(
  ctx: Output & { json: boolean },
  items: readonly T[],
  columns: readonly string[],
  row: (item: T) => readonly string[],
  empty?: string,
): number {
  if (ctx.json) {
    ctx.out(json(items));
    return EXIT.ok;
  }
  if (items.length === 0 && empty !== undefined) {
    ctx.err(empty);
    return EXIT.ok;
  }
  for (const line of table(columns, items.map(row))) ctx.out(line);
  return EXIT.ok;
}

/** `2026-01-02T03:04:05.678Z` → `2026-01-02 03:04:05`, in UTC so output does not depend on the machine. */
export function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().replace('T', ' ').slice(0, 19);
}
