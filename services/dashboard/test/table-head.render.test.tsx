import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { type Column, TableHead } from '../src/components/table-head.js';

function render(columns: readonly Column[]): string {
  return renderToStaticMarkup(
    <table>
      <TableHead columns={columns} />
    </table>,
  );
}

describe("a table's header row", () => {
  it('names each column in order in a column-scoped header cell, with its class where it has one', () => {
    expect(render(['Run', { label: 'Attempts', className: 'num' }, 'Last error'])).toBe(
      '<table><thead><tr><th scope="col">Run</th><th scope="col" class="num">Attempts</th><th scope="col">Last error</th></tr></thead></table>',
    );
  });

  it('gives a column whose cells speak for themselves a name only screen readers read', () => {
    expect(render(['Name', { hidden: 'Actions' }])).toBe(
      '<table><thead><tr><th scope="col">Name</th><th scope="col" aria-label="Actions"></th></tr></thead></table>',
    );
  });

  it('leaves out a column its condition turns off, and keeps it when the condition holds', () => {
    const columns = (canSelect: boolean): Column[] => [canSelect && { hidden: 'Select' }, 'Asset'];
    expect(render(columns(false))).toBe('<table><thead><tr><th scope="col">Asset</th></tr></thead></table>');
    expect(render(columns(true))).toBe(
      '<table><thead><tr><th scope="col" aria-label="Select"></th><th scope="col">Asset</th></tr></thead></table>',
    );
  });
});
