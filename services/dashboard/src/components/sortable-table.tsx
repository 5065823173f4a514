import { useMemo, useState } from 'react';
import { nextSort, type RowSort, sortRows } from '../lib/sort-rows.js';

/** A table of text cells whose column headers sort it: click or Enter/Space, ascending, descending, off. */
export function SortableTable({ columns, rows }: { columns: readonly string[]; rows: readonly string[][] }) {
  const [sort, setSort] = useState<RowSort | null>(null);
  const sorted = useMemo(() => sortRows(rows, sort), [rows, sort]);
  return (
    <table className="artifact-table">
      <thead>
        <tr>
          {columns.map((column, i) => {
            const direction = sort?.column === i ? sort.direction : undefined;
            return (
              // biome-ignore lint/suspicious/noArrayIndexKey: columns may repeat and never reorder
              <th key={i} aria-sort={direction ?? 'none'} data-testid="sort-header">
                <button type="button" className="sort-button" onClick={() => setSort((s) => nextSort(s, i))}>
                  {column}
                  <span className="sort-mark" aria-hidden="true">
                    {direction === 'ascending' ? ' ▲' : direction === 'descending' ? ' ▼' : ''}
                  </span>
                </button>
              </th>
            );
          })}
        </tr>
      </thead>
      <tbody>
        {sorted.map((row, r) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows have no identity of their own
          <tr key={r}>
            {row.map((cell, c) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: cells are positional
              <td key={c}>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
