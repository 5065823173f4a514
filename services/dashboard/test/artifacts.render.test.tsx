import type { Artifact } from '@outpost/sdk/contracts';
import type { ReactNode } from 'react';
import { prerenderToNodeStream } from 'react-dom/static';
import { describe, expect, it } from 'vitest';
import { RunArtifacts } from '../src/pages/run-artifacts.js';

function artifact(type: Artifact['type'], data: Artifact['data']): Artifact {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    key: `k-${type}`,
    type,
    description: null,
    data,
    flowRunId: '00000000-0000-4000-8000-000000000002',
    taskRunId: null,
    createdAt: '2026-03-01T12:00:00.000Z',
    updatedAt: '2026-03-01T12:00:00.000Z',
  };
}

/** The HTML once every lazy part (the Markdown renderer loads on demand) has loaded. */
async function render(node: ReactNode): Promise<string> {
  const { prelude } = await prerenderToNodeStream(node);
  let html = '';
  for await (const chunk of prelude) html += chunk.toString();
  return html;
}

describe('artifacts on the run page', () => {
  it('renders markdown with raw HTML as text, with no script element or event handler attribute', async () => {
    const markdown = '# Report\n\n<script>alert(1)</script>\n\nSee <img src=x onerror=alert(1)> and **bold**.';
    const html = await render(<RunArtifacts artifacts={[artifact('markdown', { markdown })]} />);
    expect(html).not.toContain('<script');
    // Inside any tag, not the escaped text that shows it.
    expect(html).not.toMatch(/<[^>]*\sonerror=/i);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<h1>Report</h1>');
    expect(html).toContain('<strong>bold</strong>');
  });

  it('drops script URLs from markdown links and images and marks kept links noopener', async () => {
    const markdown = '[bad](javascript:alert(1)) [good](https://example.com) ![pic](https://evil.example/p.png)';
    const html = await render(<RunArtifacts artifacts={[artifact('markdown', { markdown })]} />);
    expect(html).not.toContain('javascript:');
    expect(html).not.toContain('evil.example');
    expect(html).toContain('href="https://example.com/"');
    expect(html).toContain('rel="noopener noreferrer"');
    expect(html).toContain('[image: pic]');
  });

  it('draws tables, links and progress with their test ids and no inline style', async () => {
    const html = await render(
      <RunArtifacts
        artifacts={[
          artifact('table', { columns: ['<b>col</b>'], rows: [['<i>x</i>']] }),
          artifact('link', { url: 'https://example.com/m', text: 'model' }),
          artifact('progress', { progress: 0.25 }),
        ]}
      />,
    );
    expect(html).toContain('data-type="table"');
    expect(html).toContain('&lt;b&gt;col&lt;/b&gt;');
    expect(html).toContain('href="https://example.com/m"');
    expect(html).toContain('data-testid="artifact-progress"');
    expect(html).toContain('aria-valuenow="25"');
    expect(html).not.toContain('style=');
  });
});
