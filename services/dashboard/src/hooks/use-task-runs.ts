import type { TaskRunSummaryResponse } from '@outpost/sdk/contracts';
import { useCallback, useEffect, useReducer, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import {
  initialTaskRunPages,
  loadedCount,
  NO_TASK_FILTER,
  pagesInRange,
  TASK_PAGE_SIZE,
  type TaskRunFilter,
  type TaskRunPages,
  taskFilterKey,
  taskRunPagesReducer,
} from '../lib/task-run-pages.js';

/** How often a live run's summary and visible task runs are re-read. */
const POLL_MS = 3000;
/** Rows left below the window when the next page is asked for. */
const PREFETCH_ROWS = 60;

export interface TaskRunsView {
  summary: TaskRunSummaryResponse | null;
  filter: TaskRunFilter;
  setFilter: (next: TaskRunFilter | ((current: TaskRunFilter) => TaskRunFilter)) => void;
  pages: TaskRunPages;
  /** The summary could not be read. */
  error: string | null;
  /** The list's rendered rows changed: re-read those pages on the next tick, and load more near the end. */
  onRange: (first: number, last: number) => void;
  /** Tries the next page again after a failure. */
  retry: () => void;
}

/**
 * A run's task runs as its page shows them: the summary (counts, names, activity) and the pages of
 * the chosen filter read so far. Reading starts with the page, alongside the run itself, so the
 * summary of a large run is not queued behind it. While the run is live, the summary and only the
 * pages in view are re-read every POLL_MS (each read starts after the previous ended); a change of
 * `revision` (the run's own update) re-reads at once, and so does the run ending, for its final
 * counts. `live` and `revision` are null until the run itself has been read.
 */
export function useTaskRuns(runId: string, live: boolean | null, revision: string | null): TaskRunsView {
  const [filter, setFilter] = useState<TaskRunFilter>(NO_TASK_FILTER);
  const key = taskFilterKey(filter);
  const [summary, setSummary] = useState<TaskRunSummaryResponse | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [pages, dispatch] = useReducer(taskRunPagesReducer, key, initialTaskRunPages);
  const [range, setRange] = useState({ first: 0, last: 0 });
  const pagesRef = useRef(pages);
  pagesRef.current = pages;
  const rangeRef = useRef(range);
  rangeRef.current = range;
  const liveRef = useRef(live);
  liveRef.current = live;
  const filterRef = useRef(filter);
  filterRef.current = filter;
  const signalRef = useRef<AbortSignal | null>(null);
  /** Re-reads now, or (false) only makes sure a live run's next read is scheduled. */
  const wakeRef = useRef<((now: boolean) => void) | null>(null);

  const readPage = useCallback(
    async (index: number, cursor: string | null, signal: AbortSignal) => {
      const { states, name } = filterRef.current;
      const result = await api.call('taskRunsList', {
        params: { id: runId },
        query: {
          limit: TASK_PAGE_SIZE,
          ...(cursor ? { cursor } : {}),
          ...(states.length > 0 ? { state: states.join(',') } : {}),
          ...(name ? { name } : {}),
        },
        signal,
      });
      if (signal.aborted) return;
      if (result.ok) dispatch({ type: 'page', key, index, cursor, items: result.data.items, nextCursor: result.data.nextCursor });
      else dispatch({ type: 'failed', key, error: describeFailure(result) });
    },
    [runId, key],
  );

  useEffect(() => {
    const controller = new AbortController();
    signalRef.current = controller.signal;
    dispatch({ type: 'reset', key });
    let timer: ReturnType<typeof setTimeout> | null = null;
    let busy = false;
    let again = false;

    const read = async () => {
      const { signal } = controller;
      // Before the reset above has rendered, the state still holds the old filter's pages: start over.
      const state = pagesRef.current.key === key ? pagesRef.current : initialTaskRunPages(key);
      const { first, last } = rangeRef.current;
      const summary = api.call('taskRunsSummary', { params: { id: runId }, signal }).then((result) => {
        if (signal.aborted) return;
        if (result.ok) setSummary(result.data);
        setError(result.ok ? null : describeFailure(result));
      });
      await Promise.all([
        summary,
        ...pagesInRange(state, first, last).map((i) => readPage(i, state.pages[i]?.cursor ?? null, signal)),
      ]);
    };

    const tick = async () => {
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      if (timer) clearTimeout(timer);
      timer = null;
      try {
        await read();
      } finally {
        busy = false;
      }
      if (controller.signal.aborted) return;
      if (again) {
        again = false;
        void tick();
      } else if (liveRef.current) timer = setTimeout(tick, POLL_MS);
    };
    wakeRef.current = (now) => {
      if (now) void tick();
      else if (!busy && !timer && liveRef.current) timer = setTimeout(tick, POLL_MS);
    };
    void tick();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
      wakeRef.current = null;
    };
  }, [runId, key, readPage]);

  // The loop above reads once on mount, before the run is known. Once it is, a live run is polled;
  // later changes of the run re-read at once (and restart the polling when it is live again).
  const seen = useRef({ live, revision });
  useEffect(() => {
    const before = seen.current;
    if (before.live === live && before.revision === revision) return;
    seen.current = { live, revision };
    wakeRef.current?.(before.revision !== null);
  }, [live, revision]);

  // Near the end of what is loaded, the next page is read (one at a time, and not again after a failure until asked).
  useEffect(() => {
    const signal = signalRef.current;
    if (!signal || signal.aborted || !pages.loaded || pages.loading || pages.error || !pages.nextCursor) return;
    if (range.last < loadedCount(pages) - PREFETCH_ROWS) return;
    dispatch({ type: 'next-started' });
    void readPage(pages.pages.length, pages.nextCursor, signal);
  }, [pages, range.last, readPage]);

  const onRange = useCallback((first: number, last: number) => {
    setRange((r) => (r.first === first && r.last === last ? r : { first, last }));
  }, []);
  const retry = useCallback(() => {
    const signal = signalRef.current;
    const state = pagesRef.current;
    const index = state.pages.length;
    const cursor = index === 0 ? null : state.nextCursor;
    if (!signal || signal.aborted || (index > 0 && !cursor)) return;
    dispatch({ type: 'next-started' });
    void readPage(index, cursor, signal);
  }, [readPage]);

  return { summary, filter, setFilter, pages, error, onRange, retry };
}
