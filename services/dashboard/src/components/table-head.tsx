import type { ReactNode } from 'react';

/**
 * One column of a table's header:
 * - its text;
 * - `{ label, className }` for a styled one (`num` aligns numbers right);
 * - `{ hidden }` for a column whose cells speak for themselves (a checkbox, the row's buttons): the
 *   name is there for screen readers only, as the cell's label (a visually hidden element in a cell
 *   would be placed against the page, not the table, and widen a scrolling table's page);
 * - `false`, from `condition && column`, leaves the column out.
 */
export type Column = string | { label: ReactNode; className?: string } | { hidden: string } | false;

/** A table's header row: one `<th scope="col">` a column, in order. */
export function TableHead({ columns }: { columns: readonly Column[] }) {
  return (
    <thead>
      <tr>{columns.map(headerCell)}</tr>
    </thead>
  );
}

function headerCell(column: Column, index: number): ReactNode {
  if (column === false) return null;
  if (typeof column === 'string') {
    return (
      <th key={index} scope="col">
        {column}
      </th>
    );
  }
  if ('hidden' in column) {
    return <th key={index} scope="col" aria-label={column.hidden} />;
  }
  return (
    <th key={index} scope="col" className={column.className}>
      {column.label}
    </th>
  );
}
