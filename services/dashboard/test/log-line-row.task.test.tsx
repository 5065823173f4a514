import type { LogLine } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { LogLineRow, splitTaskName } from '../src/components/log-line-row.js';

describe('a log line’s task', () => {
  it('is split before its partition key, so the name can be cut short and the key kept whole', () => {
    expect(splitTaskName('customers/features:rejected_rows [2026-11-02]')).toEqual({
      name: 'customers/features:rejected_rows',
      partition: '[2026-11-02]',
    });
    expect(splitTaskName('prepare')).toEqual({ name: 'prepare', partition: null });
    expect(splitTaskName('[2026-11-02]')).toEqual({ name: '[2026-11-02]', partition: null });
  });

  it('is titled whole and draws the partition key in its own element', () => {
    const line = {
      attempt: 1,
      seq: 1,
      level: 'info',
      stream: 'stdout',
      message: 'checked 2 rows',
      timestamp: '2026-11-02T10:00:00.000Z',
      taskName: 'customers/features:rejected_rows [2026-11-02]',
    } as unknown as LogLine;
    const html = renderToStaticMarkup(<LogLineRow line={line} query="" selected={false} onSelect={() => {}} />);
    expect(html).toContain('title="customers/features:rejected_rows [2026-11-02]"');
    expect(html).toContain('<span class="log-task-name">customers/features:rejected_rows</span>');
    expect(html).toContain('<span class="log-task-partition" data-testid="log-task-partition">[2026-11-02]</span>');
  });
});
