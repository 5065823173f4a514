/** A column to sort by, and which way. */
export interface RowSort {
  column: number;
  direction: 'ascending' | 'descending';
}

const NUMBER = /^\s*[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?\s*$/i;
const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });

/**
 * Compares two cells as a person reading the table would: numbers by value, everything else as
 * text with digit runs compared as numbers (`file2` before `file10`); empty cells last either way.
 */
export function compareCells(a: string, b: string): number {
  if (a === '' || b === '') return a === b ? 0 : a === '' ? 1 : -1;
  if (NUMBER.test(a) && NUMBER.test(b)) return Number(a) - Number(b);
  return collator.compare(a, b);
}

/** The rows in the order `sort` asks for, stable for equal cells; the input is left alone. */
export function sortRows(rows: readonly string[][], sort: RowSort | null): string[][] {
  if (!sort) return [...rows];
  const sign = sort.direction === 'ascending' ? 1 : -1;
  return rows
    .map((row, index) => ({ row, index }))
    .sort((x, y) => {
      const a = x.row[sort.column] ?? '';
      const b = y.row[sort.column] ?? '';
      // Empty cells stay last whichever way the column is sorted.
      if ((a === '') !== (b === '')) return a === '' ? 1 : -1;
      return sign * compareCells(a, b) || x.index - y.index;
    })
    .map((entry) => entry.row);
}

/** The sort after a click on `column`: ascending first, then descending, then the original order. */
export function nextSort(current: RowSort | null, column: number): RowSort | null {
  if (!current || current.column !== column) return { column, direction: 'ascending' };
  return current.direction === 'ascending' ? { column, direction: 'descending' } : null;
}
