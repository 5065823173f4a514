import { renderToString } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { MarkdownText } from '../src/components/markdown-text.js';
import { markdownImageSrc } from '../src/lib/artifacts.js';
import { isSvgDataUrl } from '../src/lib/safe-svg.js';
import { compareCells, nextSort, sortRows } from '../src/lib/sort-rows.js';

describe('markdown artifacts', () => {
  it('draws GitHub-flavoured tables, strikethrough and task lists, with raw HTML still text', () => {
    const html = renderToString(
      <MarkdownText
        markdown={
          '| model | auc |\n| --- | ---: |\n| a | 0.91 |\n\n~~old~~ new\n\n- [x] trained\n- [ ] shipped\n\n<b onclick="x()">bold?</b>'
        }
      />,
    );
    expect(html).toContain('<table>');
    // Alignment as a class: the content security policy refuses inline styles.
    expect(html).toContain('<td class="md-align-right">0.91</td>');
    expect(html).not.toContain('style=');
    expect(html).toContain('<del>old</del>');
    expect(html).toMatch(/<input[^>]*type="checkbox"[^>]*checked/);
    expect(html).not.toContain('<b ');
    expect(html).toContain('&lt;b onclick=');
  });

  it('lets SVG data images through to the sanitiser and never draws one without a DOM to clean it', () => {
    const svg = `data:image/svg+xml;base64,${btoa('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>')}`;
    expect(isSvgDataUrl(svg)).toBe(true);
    expect(markdownImageSrc(svg)).toBe(svg);
    expect(isSvgDataUrl('data:image/svg+xml,%3Csvg%3E%3C/svg%3E')).toBe(true);
    // Rendered on the server there is nothing to sanitise with: the alt text shows instead.
    const html = renderToString(<MarkdownText markdown={`![chart](${svg})`} />);
    expect(html).not.toContain('<img');
    expect(html).toContain('[image: chart]');
  });
});

describe('sorting a table artifact', () => {
  const rows = [
    ['file10', '3', ''],
    ['file2', '-1.5', 'b'],
    ['', '20', 'a'],
    ['file1', '1e1', 'c'],
  ];

  it('sorts numbers by value and text with digits as a person reads it, empty cells last', () => {
    expect(sortRows(rows, { column: 1, direction: 'ascending' }).map((r) => r[1])).toEqual(['-1.5', '3', '1e1', '20']);
    expect(sortRows(rows, { column: 0, direction: 'ascending' }).map((r) => r[0])).toEqual(['file1', 'file2', 'file10', '']);
    expect(sortRows(rows, { column: 0, direction: 'descending' }).map((r) => r[0])).toEqual(['file10', 'file2', 'file1', '']);
    expect(sortRows(rows, null)).toEqual(rows);
    expect(compareCells('a', 'B')).toBeLessThan(0);
  });

  it('cycles a column through ascending, descending and the original order', () => {
    const first = nextSort(null, 2);
    expect(first).toEqual({ column: 2, direction: 'ascending' });
    expect(nextSort(first, 2)).toEqual({ column: 2, direction: 'descending' });
    expect(nextSort({ column: 2, direction: 'descending' }, 2)).toBeNull();
    expect(nextSort({ column: 2, direction: 'descending' }, 0)).toEqual({ column: 0, direction: 'ascending' });
  });
});
