import type { FlowRun } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { RunChildren } from '../src/pages/run-children.js';

function child(id: string, name: string, type: FlowRun['state']['type']): FlowRun {
  return { id, name, flowName: 'sub', state: { type, name: type === 'COMPLETED' ? 'Completed' : 'Running' } } as FlowRun;
}

describe('child runs on the run page', () => {
  it('lists each child run with a link to its page and its state badge', () => {
    const html = renderToStaticMarkup(
      <RunChildren
        runs={[
          {
            ...child('00000000-0000-4000-8000-00000000000a', '<b>a</b>', 'COMPLETED'),
            expectedStartTime: '2026-03-01T12:00:00.000Z',
            startTime: null,
          },
          {
            ...child('00000000-0000-4000-8000-00000000000b', 'b', 'RUNNING'),
            expectedStartTime: '2026-03-01T12:00:00.000Z',
            startTime: null,
          },
        ]}
      />,
    );
    expect(html.match(/data-testid="run-child"/g)).toHaveLength(2);
    expect(html).toContain('href="#/runs/00000000-0000-4000-8000-00000000000a"');
    expect(html).toContain('data-state="COMPLETED"');
    expect(html).toContain('data-state="RUNNING"');
    expect(html).toContain('&lt;b&gt;a&lt;/b&gt;');
  });

  it('draws nothing for a run without children', () => {
    expect(renderToStaticMarkup(<RunChildren runs={[]} />)).toBe('');
  });
});
