import type { WorkQueue } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { WorkPoolDialog } from '../src/pages/work-pool-dialog.js';
import { WorkQueueDialog } from '../src/pages/work-queue-dialog.js';

const QUEUE: WorkQueue = {
  id: '00000000-0000-4000-8000-000000000001',
  workPool: 'gpu',
  name: 'nightly',
  priority: 2,
  paused: true,
  concurrencyLimit: 4,
  createdAt: '2026-03-01T12:00:00.000Z',
};

const noop = () => {};

describe('the work pool and queue dialogs', () => {
  it('create a pool with a name and a type, and offer no pause before it exists', () => {
    const html = renderToStaticMarkup(<WorkPoolDialog pool={null} onClose={noop} onSaved={noop} />);
    expect(html).toContain('aria-label="New work pool"');
    expect(html).toContain('data-testid="pool-dialog"');
    expect(html).toContain('data-testid="pool-form"');
    expect(html).toContain('data-testid="pool-name"');
    expect(html).toContain('data-testid="pool-type"');
    expect(html).not.toContain('pool-paused');
    expect(html).toContain(
      'placeholder="No limit" data-testid="pool-limit" value=""/><span class="field-help">Most runs of this pool held at once; blank for no limit.</span>',
    );
    expect(html).toMatch(/data-testid="pool-submit">Create pool</);
  });

  it("edit a queue's priority, limit and pause, without renaming it", () => {
    const html = renderToStaticMarkup(<WorkQueueDialog poolName="gpu" queue={QUEUE} onClose={noop} onSaved={noop} />);
    expect(html).toContain('aria-label="Edit queue nightly"');
    expect(html).toContain('data-testid="queue-dialog"');
    expect(html).toContain('data-testid="queue-form"');
    expect(html).not.toContain('queue-name');
    expect(html).toContain('placeholder="No limit" data-testid="queue-limit" value="4"/></label>');
    expect(html).toMatch(
      /<input type="checkbox" data-testid="queue-paused" checked=""\/>Paused: workers claim nothing from this queue/,
    );
    expect(html).toMatch(/data-testid="queue-submit">Save</);
  });
});
