import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { LoadMore } from '../src/components/load-more.js';

function render(nextCursor: string | null, loading: boolean): string {
  return renderToStaticMarkup(
    <LoadMore list={{ nextCursor, loading }} onMore={() => {}} label="Load more people" testId="people-more" />,
  );
}

describe('the button that reads the next page of a list', () => {
  it('is offered while the list has another page, and says it is loading while that page is read', () => {
    expect(render('c1', false)).toBe('<button type="button" class="button" data-testid="people-more">Load more people</button>');
    expect(render('c1', true)).toBe(
      '<button type="button" class="button" disabled="" data-testid="people-more">Loading…</button>',
    );
  });

  it('is gone once the last page is read', () => {
    expect(render(null, false)).toBe('');
  });
});
