import type { LogLine } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { JsonView } from '../src/components/json-view.js';
import { LogLineRow } from '../src/components/log-line-row.js';
import { StateBadge } from '../src/components/state-badge.js';
import { TagList } from '../src/components/tag-list.js';

const HOSTILE = '<script>alert(1)</script><img src=x onerror=alert(1)>';

function line(message: string): LogLine {
  return { attempt: 1, seq: 1, timestamp: '2026-03-01T12:00:00.000Z', level: 'info', message, taskRunId: null, stream: 'stdout' };
}

function textOf(html: string): string {
  return html
    .replace(/<[^>]*>/g, '')
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&quot;', '"')
    .replaceAll('&#x27;', "'")
    .replaceAll('&amp;', '&');
}

describe('untrusted text in the dashboard', () => {
  it('shows a log line full of markup as text, with no element made from it', () => {
    const html = renderToStaticMarkup(<LogLineRow line={line(HOSTILE)} query="" selected={false} onSelect={() => {}} />);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;');
    expect(textOf(html)).toContain(HOSTILE);
  });

  it('keeps markup as text when a search highlights inside it', () => {
    const html = renderToStaticMarkup(<LogLineRow line={line(HOSTILE)} query="SCRIPT" selected={false} onSelect={() => {}} />);
    expect(html).not.toContain('<script');
    expect(html.match(/<mark>/g)).toHaveLength(2);
    expect(html).toContain('&lt;<mark>script</mark>&gt;');
    expect(textOf(html)).toContain(HOSTILE);
  });

  it('renders parameters, tags and state names from the API as text', () => {
    const json = renderToStaticMarkup(<JsonView value={{ [HOSTILE]: HOSTILE, n: 1 }} />);
    expect(json).not.toContain('<script');
    expect(json).not.toContain('<img');
    expect(textOf(json)).toContain(JSON.stringify(HOSTILE));
    const tags = renderToStaticMarkup(<TagList tags={[HOSTILE]} />);
    expect(tags).not.toContain('<img');
    const badge = renderToStaticMarkup(<StateBadge state={{ type: 'FAILED', name: HOSTILE }} />);
    expect(badge).not.toContain('<script');
    expect(badge).toContain('data-state="FAILED"');
  });
});
