import type { StateType, TaskRun } from '@outpost/sdk/contracts';
import { describe, expect, it } from 'vitest';
import {
  initialTaskRunPages,
  loadedCount,
  pagesInRange,
  TASK_PAGE_SIZE,
  type TaskRunPages,
  type TaskRunPagesAction,
  taskFilterKey,
  taskRunAt,
  taskRunPagesReducer,
} from '../src/lib/task-run-pages.js';

const BASE = Date.parse('2026-03-01T12:00:00.000Z');

function taskRun(n: number, type: StateType = 'COMPLETED'): TaskRun {
  const at = new Date(BASE + n).toISOString();
  return {
    id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`,
    flowRunId: '00000000-0000-4000-8000-000000000001',
    flowRunAttempt: 1,
    name: 'score',
    taskKey: `score-${n}`,
    dynamicKey: String(n),
    runCount: 1,
    cacheKey: null,
    state: { type, name: type, message: null, timestamp: at, data: null },
    startTime: at,
    endTime: type === 'RUNNING' ? null : at,
    createdAt: at,
  };
}

/** Task runs `from`..`from + count - 1`, oldest first. */
function runs(from: number, count: number, type: StateType = 'COMPLETED'): TaskRun[] {
  return Array.from({ length: count }, (_, i) => taskRun(from + i, type));
}

const cursorAfter = (items: TaskRun[]) => `after-${items.at(-1)?.taskKey}`;

function page(
  key: string,
  index: number,
  cursor: string | null,
  items: TaskRun[],
  more = items.length === TASK_PAGE_SIZE,
): TaskRunPagesAction {
  return { type: 'page', key, index, cursor, items, nextCursor: more ? cursorAfter(items) : null };
}

/** Three full pages read in order, more to come. */
function threePages(): TaskRunPages {
  let s = initialTaskRunPages('k');
  for (let i = 0; i < 3; i++) {
    s = taskRunPagesReducer(s, { type: 'next-started' });
    s = taskRunPagesReducer(s, page('k', i, s.nextCursor, runs(i * TASK_PAGE_SIZE, TASK_PAGE_SIZE)));
  }
  return s;
}

describe('task-run pages read on scroll', () => {
  it('appends each page read with the cursor the last one handed out, and finds row i on page i / size', () => {
    const s = threePages();
    expect(s.pages.map((p) => p.cursor)).toEqual([null, 'after-score-199', 'after-score-399']);
    expect(loadedCount(s)).toBe(3 * TASK_PAGE_SIZE);
    expect(taskRunAt(s, 0)?.taskKey).toBe('score-0');
    expect(taskRunAt(s, 450)?.taskKey).toBe('score-450');
    expect(taskRunAt(s, 600)).toBeUndefined();
    expect(s.nextCursor).toBe('after-score-599');
    expect(s.loading).toBe(false);
  });

  it('drops a late answer for another filter, or for a next page that is no longer next', () => {
    const s = threePages();
    expect(taskRunPagesReducer(s, page('other', 3, s.nextCursor, runs(600, 10)))).toBe(s);
    expect(taskRunPagesReducer(s, page('k', 3, 'after-score-199', runs(200, 10)))).toBe(s);
    expect(taskRunPagesReducer(s, page('k', 1, 'a-cursor-page-1-never-had', runs(200, 10)))).toBe(s);
    const fresh = initialTaskRunPages('k');
    expect(taskRunPagesReducer(fresh, page('k', 0, 'not-the-first', runs(0, 10)))).toBe(fresh);
  });

  it('replaces a re-read page in place and keeps the pages after it when its end did not move', () => {
    const s = threePages();
    const reread = runs(200, TASK_PAGE_SIZE);
    reread[5] = taskRun(205, 'FAILED');
    const next = taskRunPagesReducer(s, page('k', 1, 'after-score-199', reread));
    expect(next.pages).toHaveLength(3);
    expect(taskRunAt(next, 205)?.state.type).toBe('FAILED');
    expect(next.nextCursor).toBe(s.nextCursor);
  });

  it('drops the pages after a re-read page whose end moved, since their cursors no longer follow it', () => {
    const s = taskRunPagesReducer(threePages(), { type: 'next-started' });
    // Under a RUNNING filter, task runs that finished are gone: page 1 now ends further on.
    const moved = runs(230, TASK_PAGE_SIZE);
    const next = taskRunPagesReducer(s, page('k', 1, 'after-score-199', moved));
    expect(next.pages).toHaveLength(2);
    expect(next.nextCursor).toBe('after-score-429');
    expect(next.loading).toBe(false);
    // The page 3 read that was under way answers for a cursor that is no longer next.
    expect(taskRunPagesReducer(next, page('k', 2, 'after-score-599', runs(600, 10)))).toBe(next);
  });

  it('grows the last page when it is re-read and more task runs arrived', () => {
    let s = taskRunPagesReducer(initialTaskRunPages('k'), page('k', 0, null, runs(0, 50)));
    expect(s.nextCursor).toBeNull();
    s = taskRunPagesReducer(s, page('k', 0, null, runs(0, TASK_PAGE_SIZE)));
    expect(loadedCount(s)).toBe(TASK_PAGE_SIZE);
    expect(s.nextCursor).toBe('after-score-199');
  });

  it('names the loaded pages under the rendered rows, and page 0 before any is loaded', () => {
    const s = threePages();
    expect(pagesInRange(initialTaskRunPages('k'), 0, 30)).toEqual([0]);
    expect(pagesInRange(s, 0, 30)).toEqual([0]);
    expect(pagesInRange(s, 180, 230)).toEqual([0, 1]);
    expect(pagesInRange(s, 590, 640)).toEqual([2]);
  });

  it('keys a filter by its states in any order and its name', () => {
    expect(taskFilterKey({ states: ['RUNNING', 'FAILED'], name: 'score' })).toBe(
      taskFilterKey({ states: ['FAILED', 'RUNNING'], name: 'score' }),
    );
    expect(taskFilterKey({ states: [], name: null })).not.toBe(taskFilterKey({ states: [], name: 'score' }));
  });
});
