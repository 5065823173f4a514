import type { TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { renderToStaticMarkup } from 'react-dom/server';
import { describe, expect, it } from 'vitest';
import { matchingCount } from '../src/lib/task-run-pages.js';
import { activityChart, nameSpans } from '../src/lib/task-summary.js';
import { TaskActivityChart } from '../src/pages/task-activity-chart.js';
import { TaskNameRows } from '../src/pages/task-name-rows.js';

const T0 = Date.parse('2026-03-01T12:00:00.000Z');
const at = (s: number) => new Date(T0 + s * 1000).toISOString();

/** 100,000 task runs in two stages over 100 s; `score` still has some running. */
const SUMMARY: TaskRunSummaryResponse = {
  total: 100_000,
  byState: { COMPLETED: 98_000, FAILED: 1_000, RUNNING: 1_000 },
  byName: [
    {
      name: 'load',
      total: 50_000,
      byState: { COMPLETED: 49_500, FAILED: 500 },
      firstStart: at(0),
      lastEnd: at(25),
      meanMs: 1200,
      maxMs: 3100,
    },
    {
      name: 'score',
      total: 50_000,
      byState: { COMPLETED: 48_500, FAILED: 500, RUNNING: 1_000 },
      firstStart: at(50),
      lastEnd: at(90),
      meanMs: 800,
      maxMs: 2000,
    },
  ],
  timeline: { start: at(0), end: at(100), sliceMs: 25_000, active: [400, 0, 350, 600] },
};

describe('a run summarised for its page', () => {
  it('counts the task runs a filter matches from the summary alone', () => {
    expect(matchingCount(SUMMARY, { states: [], name: null })).toBe(100_000);
    expect(matchingCount(SUMMARY, { states: ['FAILED', 'RUNNING'], name: null })).toBe(2_000);
    expect(matchingCount(SUMMARY, { states: ['RUNNING'], name: 'load' })).toBe(0);
    expect(matchingCount(SUMMARY, { states: [], name: 'score' })).toBe(50_000);
    expect(matchingCount(SUMMARY, { states: [], name: 'gone' })).toBe(0);
  });

  it("places each task name's span on the run's axis, open to the end while some still run", () => {
    const [load, score] = nameSpans(SUMMARY);
    expect([load?.left, load?.width, load?.open]).toEqual([0, 25, false]);
    expect([score?.left, score?.width, score?.open]).toEqual([50, 50, true]);
    expect(score?.segments).toEqual([
      { state: 'COMPLETED', count: 48_500 },
      { state: 'FAILED', count: 500 },
      { state: 'RUNNING', count: 1_000 },
    ]);
  });

  it('draws the activity as one bar per slice against a readable maximum', () => {
    const chart = activityChart(SUMMARY.timeline, 400, 100);
    expect(chart.peak).toBe(600);
    expect(chart.max).toBe(1000);
    expect(chart.bars.map((b) => [b.x, b.height])).toEqual([
      [0, 40],
      [100, 0],
      [200, 35],
      [300, 60],
    ]);
    expect(chart.spanMs).toBe(100_000);
  });

  it('renders a row per name with its counts and durations, and a bar with a tooltip per slice', () => {
    const rows = renderToStaticMarkup(<TaskNameRows summary={SUMMARY} selected="score" onPick={() => {}} />);
    expect(rows.match(/data-testid="task-name-row"/g)).toHaveLength(2);
    expect(rows).toContain('data-task-name="score"');
    expect(rows).toContain('aria-pressed="true"');
    expect(rows).toContain('48,500');
    expect(rows).toContain('1.2s');
    const chart = renderToStaticMarkup(<TaskActivityChart timeline={SUMMARY.timeline} />);
    expect(chart.match(/data-testid="task-activity-bar"/g)).toHaveLength(4);
    expect(chart).toContain('data-peak="600"');
    expect(chart).toContain('600 active');
  });

  it('says so when no task run has started, instead of drawing an empty chart', () => {
    const html = renderToStaticMarkup(<TaskActivityChart timeline={{ start: null, end: null, sliceMs: 0, active: [] }} />);
    expect(html).toContain('No task run has started yet.');
  });
});
