import { describe, expect, it } from 'vitest';
import { artifactView, markdownImageSrc, markdownLinkHref, progressPercent, tableView, webHref } from '../src/lib/artifacts.js';

describe('artifact view model', () => {
  it('takes table columns from the header and turns every cell into text', () => {
    const view = tableView({
      columns: ['name', 'score', 'ok'],
      rows: [
        ['a', 0.5, true],
        ['b', null, false],
      ],
    });
    expect(view).toEqual({
      kind: 'table',
      columns: ['name', 'score', 'ok'],
      rows: [
        ['a', '0.5', 'true'],
        ['b', '', 'false'],
      ],
    });
  });

  it('builds the header from the keys of rows given as objects', () => {
    const view = tableView({
      rows: [
        { a: 1, b: 'x' },
        { b: 'y', c: { nested: true } },
      ],
    });
    expect(view?.columns).toEqual(['a', 'b', 'c']);
    expect(view?.rows).toEqual([
      ['1', 'x', ''],
      ['', 'y', '{"nested":true}'],
    ]);
  });

  it('widens the header when a row has more cells than columns', () => {
    const view = tableView({ columns: ['a'], rows: [['1', '2']] });
    expect(view?.columns).toEqual(['a', '']);
    expect(view?.rows).toEqual([['1', '2']]);
  });

  it('clamps progress to 0–100 % and treats non-numbers as 0', () => {
    expect(progressPercent(0.423)).toBe(42.3);
    expect(progressPercent(1.7)).toBe(100);
    expect(progressPercent(-0.2)).toBe(0);
    expect(progressPercent(Number.NaN)).toBe(0);
    expect(progressPercent(Number.POSITIVE_INFINITY)).toBe(0);
    expect(artifactView({ type: 'progress', data: { progress: 5 } })).toEqual({ kind: 'progress', percent: 100 });
  });

  it('keeps only http and https links and shows anything else as text', () => {
    expect(webHref('https://example.com/model')).toBe('https://example.com/model');
    expect(webHref('javascript:alert(1)')).toBeNull();
    expect(webHref('data:text/html,<b>x</b>')).toBeNull();
    expect(webHref('/relative')).toBeNull();
    expect(artifactView({ type: 'link', data: { url: 'JavaScript:alert(1)', text: 'click' } })).toEqual({
      kind: 'link',
      href: null,
      text: 'click',
    });
    expect(artifactView({ type: 'link', data: { url: 'http://example.com', text: null } })).toEqual({
      kind: 'link',
      href: 'http://example.com/',
      text: 'http://example.com',
    });
  });

  it('allows mailto in markdown links and only data: or same-origin images', () => {
    expect(markdownLinkHref('mailto:ops@example.com')).toBe('mailto:ops@example.com');
    expect(markdownLinkHref('vbscript:x')).toBeNull();
    expect(markdownImageSrc('data:image/png;base64,AAAA')).toBe('data:image/png;base64,AAAA');
    expect(markdownImageSrc('data:text/html;base64,AAAA')).toBeNull();
    expect(markdownImageSrc('/favicon.svg')).toBe('/favicon.svg');
    expect(markdownImageSrc('//evil.example/x.png')).toBeNull();
    expect(markdownImageSrc('https://evil.example/x.png')).toBeNull();
  });

  it('shows data that does not fit its type as JSON text', () => {
    expect(artifactView({ type: 'markdown', data: { text: 'x' } })).toEqual({ kind: 'invalid', json: '{\n  "text": "x"\n}' });
    expect(artifactView({ type: 'table', data: 'nope' }).kind).toBe('invalid');
  });
});
