import type { StateType, TaskRun, TaskRunSummaryResponse } from '@outpost/sdk/contracts';

/**
 * Task runs one page holds. A run with at most this many task runs fits on one page, so its run
 * page draws a Gantt bar per task run; a larger one is drawn from its summary and paged on scroll.
 */
export const TASK_PAGE_SIZE = 200;

export interface TaskRunFilter {
  /** Any of these state types; empty for all. */
  states: readonly StateType[];
  name: string | null;
}

export const NO_TASK_FILTER: TaskRunFilter = { states: [], name: null };

export function taskFilterKey(filter: TaskRunFilter): string {
  return `${[...filter.states].sort().join(',')}|${filter.name ?? ''}`;
}

/** How many task runs pass the filter, from the summary's counts (no request needed). */
export function matchingCount(summary: TaskRunSummaryResponse, filter: TaskRunFilter): number {
  const counts = filter.name === null ? summary.byState : (summary.byName.find((n) => n.name === filter.name)?.byState ?? {});
  const states = filter.states.length > 0 ? filter.states : (Object.keys(counts) as StateType[]);
  return states.reduce((sum, s) => sum + (counts[s] ?? 0), 0);
}

export interface TaskRunPage {
  /** What this page was read with; null for the first. */
  cursor: string | null;
  items: TaskRun[];
}

/**
 * The pages of one filter read so far, in order. Every page but the last holds exactly
 * TASK_PAGE_SIZE task runs, so row `i` is on page `i / TASK_PAGE_SIZE`. Answers carry the filter key,
 * page index and cursor they were asked with, so a late answer for an old filter, or for a page
 * dropped since, changes nothing.
 */
export interface TaskRunPages {
  key: string;
  pages: TaskRunPage[];
  /** Reads the page after the last one; null when the last one ends the list (for now). */
  nextCursor: string | null;
  /** The first page has arrived. */
  loaded: boolean;
  /** The next page is being read. */
  loading: boolean;
  error: string | null;
}

export type TaskRunPagesAction =
  | { type: 'reset'; key: string }
  | { type: 'next-started' }
  | { type: 'page'; key: string; index: number; cursor: string | null; items: TaskRun[]; nextCursor: string | null }
  | { type: 'failed'; key: string; error: string };

export function initialTaskRunPages(key: string): TaskRunPages {
  return { key, pages: [], nextCursor: null, loaded: false, loading: false, error: null };
}

export function taskRunPagesReducer(state: TaskRunPages, action: TaskRunPagesAction): TaskRunPages {
  switch (action.type) {
    case 'reset':
      return initialTaskRunPages(action.key);
    case 'next-started':
      return { ...state, loading: true, error: null };
    case 'failed':
      return action.key === state.key ? { ...state, loading: false, error: action.error } : state;
    case 'page': {
      if (action.key !== state.key) return state;
      const page: TaskRunPage = { cursor: action.cursor, items: action.items };
      const { index } = action;
      if (index === state.pages.length) {
        // The next page: only the one the last page pointed to (a page read before a drop is stale).
        if (action.cursor !== (index === 0 ? null : state.nextCursor)) return state;
        return {
          ...state,
          pages: [...state.pages, page],
          nextCursor: action.nextCursor,
          loaded: true,
          loading: false,
          error: null,
        };
      }
      const old = state.pages[index];
      if (!old || old.cursor !== action.cursor) return state;
      const pages = state.pages.slice();
      pages[index] = page;
      const last = index === pages.length - 1;
      const endMoved = old.items.length !== page.items.length || old.items.at(-1)?.id !== page.items.at(-1)?.id;
      if (last || endMoved) {
        // A re-read page that ends elsewhere (task runs left a state filter, or more arrived) makes
        // the cursors of the pages after it wrong: they are dropped and read again on scroll.
        return { ...state, pages: pages.slice(0, index + 1), nextCursor: action.nextCursor, loading: false, error: null };
      }
      return { ...state, pages, error: null };
    }
  }
}

export function loadedCount(state: TaskRunPages): number {
  const last = state.pages.at(-1);
  return last ? (state.pages.length - 1) * TASK_PAGE_SIZE + last.items.length : 0;
}

export function taskRunAt(state: TaskRunPages, i: number): TaskRun | undefined {
  return state.pages[Math.floor(i / TASK_PAGE_SIZE)]?.items[i % TASK_PAGE_SIZE];
}

/** Indices of the loaded pages holding rows `first` (inclusive) to `last` (exclusive); page 0 when none is loaded. */
export function pagesInRange(state: TaskRunPages, first: number, last: number): number[] {
  if (state.pages.length === 0) return [0];
  const from = Math.min(state.pages.length - 1, Math.floor(Math.max(0, first) / TASK_PAGE_SIZE));
  const to = Math.min(state.pages.length - 1, Math.floor(Math.max(first, last - 1) / TASK_PAGE_SIZE));
  const indices: number[] = [];
  for (let i = from; i <= to; i++) indices.push(i);
  return indices;
}
