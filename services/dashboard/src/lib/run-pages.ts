import type { FlowRun } from '@outpost/sdk/contracts';

/** Rows the first page may grow to with live arrivals before new runs are only counted. */
export const MAX_LIVE_ROWS = 1000;

/**
 * Keyset pagination over the runs list, newest first. The server hands out `nextCursor`; the
 * cursors of visited pages are kept so "previous" re-reads exactly the page it left. Responses
 * carry the filters key and page index they were asked for, so a late answer for an old filter
 * or page is dropped instead of overwriting the current one.
 */
export interface RunPages {
  key: string;
  /** `cursors[i]` loads page i; page 0 has none. */
  cursors: (string | null)[];
  index: number;
  items: FlowRun[];
  nextCursor: string | null;
  loading: boolean;
  error: string | null;
  /** Matching runs that arrived live but are not shown (not on the first page, or the cap was reached). */
  unseen: number;
}

export type RunPagesAction =
  | { type: 'reset'; key: string }
  | { type: 'loaded'; key: string; index: number; items: FlowRun[]; nextCursor: string | null }
  | { type: 'failed'; key: string; index: number; error: string }
  | { type: 'next' }
  | { type: 'prev' }
  | { type: 'first' }
  | { type: 'upsert'; run: FlowRun; matches: boolean };

export function initialPages(key: string): RunPages {
  return { key, cursors: [null], index: 0, items: [], nextCursor: null, loading: true, error: null, unseen: 0 };
}

/** The cursor the current page is read with. */
export function currentCursor(state: RunPages): string | null {
  return state.cursors[state.index] ?? null;
}

function newerThanFirst(run: FlowRun, items: readonly FlowRun[]): boolean {
  const first = items[0];
  if (!first) return true;
  if (run.createdAt !== first.createdAt) return Date.parse(run.createdAt) > Date.parse(first.createdAt);
  return run.id > first.id;
}

export function runPagesReducer(state: RunPages, action: RunPagesAction): RunPages {
  switch (action.type) {
    case 'reset':
      return initialPages(action.key);
    case 'loaded':
      if (action.key !== state.key || action.index !== state.index) return state;
      return {
        ...state,
        items: action.items,
        nextCursor: action.nextCursor,
        loading: false,
        error: null,
        unseen: action.index === 0 ? 0 : state.unseen,
      };
    case 'failed':
      if (action.key !== state.key || action.index !== state.index) return state;
      return { ...state, loading: false, error: action.error };
    case 'next': {
      if (!state.nextCursor || state.loading) return state;
      const cursors = [...state.cursors.slice(0, state.index + 1), state.nextCursor];
      return { ...state, cursors, index: state.index + 1, loading: true, error: null };
    }
    case 'prev':
      if (state.index === 0 || state.loading) return state;
      return { ...state, index: state.index - 1, loading: true, error: null };
    case 'first':
      return { ...state, cursors: [null], index: 0, loading: true, error: null };
    case 'upsert': {
      const at = state.items.findIndex((r) => r.id === action.run.id);
      if (at >= 0) {
        const current = state.items[at];
        // events can arrive out of order; never replace a row with an older version of it
        if (current && Date.parse(current.updatedAt) > Date.parse(action.run.updatedAt)) return state;
        const items = state.items.slice();
        items[at] = action.run;
        return { ...state, items };
      }
      if (!action.matches || state.loading || !newerThanFirst(action.run, state.items)) return state;
      if (state.index > 0 || state.items.length >= MAX_LIVE_ROWS) return { ...state, unseen: state.unseen + 1 };
      return { ...state, items: [action.run, ...state.items] };
    }
  }
}
