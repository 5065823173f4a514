import { STATE_MEANING, type StatsOverviewResponse } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { RunsChart } from '../src/pages/runs-chart.js';

const STATS: StatsOverviewResponse = {
  window: '1h',
  from: '2026-03-01T12:00:00.000Z',
  to: '2026-03-01T13:00:00.000Z',
  bucketSeconds: 3600,
  buckets: [{ start: '2026-03-01T12:00:00.000Z', counts: { COMPLETED: 7, CANCELLING: 2 } }],
  totals: { runs: 9, counts: { COMPLETED: 7, CANCELLING: 2 }, failureRate: 0 },
  late: { count: 0, items: [] },
  busiestDeployments: [],
};

/** React escapes attribute text; the meanings hold no characters it would change but these. */
function attribute(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('"', '&quot;').replaceAll("'", '&#x27;');
}

describe('the runs chart legend', () => {
  it('explains each state shown with the meaning the state contract gives it, and only the states present', () => {
    const html = renderToStaticMarkup(<RunsChart stats={STATS} />);
    expect(html).toContain(`title="Completed: ${attribute(STATE_MEANING.COMPLETED)}"`);
    expect(html).toContain(`title="Cancelling: ${attribute(STATE_MEANING.CANCELLING)}"`);
    expect(html).toContain('legend-swatch state-bg-cancelling');
    expect(html).not.toContain(STATE_MEANING.RUNNING);
  });
});
