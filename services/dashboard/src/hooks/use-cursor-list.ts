import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiResult, describeFailure } from '../api/client.js';

/** One page of a keyset-paginated list, as the API answers it. */
export interface CursorPage<T> {
  items: T[];
  nextCursor: string | null;
}

export interface CursorList<T> {
  items: T[];
  /** Reads the page after the last one shown; null once the list has ended. */
  nextCursor: string | null;
  /** The first page has arrived. */
  loaded: boolean;
  loading: boolean;
  error: string | null;
}

/**
 * Appends a further page, dropping any item already shown: the keyset never repeats one, but an
 * item changed between two reads (a group renamed by the directory) may have moved past the cursor.
 */
export function appendPage<T>(shown: readonly T[], next: readonly T[], idOf: (item: T) => string): T[] {
  const ids = new Set(shown.map(idOf));
  return [...shown, ...next.filter((item) => !ids.has(idOf(item)))];
}

/** The list with `item` in place of the one of the same id, where it is shown. */
export function replaceItem<T>(items: readonly T[], item: T, idOf: (item: T) => string): T[] {
  const id = idOf(item);
  return items.map((shown) => (idOf(shown) === id ? item : shown));
}

const EMPTY = { items: [], nextCursor: null, loaded: false, loading: true, error: null };

/**
 * A list read page by page with the API's cursor: the first page when `deps` change, the next on
 * `more()` (a person's click, so never two at once), and `replace` to show an item as a write
 * answered it without reading every page again.
 */
export function useCursorList<T>(
  read: (cursor: string | null, signal: AbortSignal) => Promise<ApiResult<CursorPage<T>>>,
  idOf: (item: T) => string,
  deps: readonly unknown[],
): CursorList<T> & { more: () => void; replace: (item: T) => void } {
  const [list, setList] = useState<CursorList<T>>(EMPTY);
  const readRef = useRef(read);
  readRef.current = read;
  const idRef = useRef(idOf);
  idRef.current = idOf;
  const controller = useRef<AbortController | null>(null);

  const load = useCallback(async (cursor: string | null) => {
    controller.current?.abort();
    const current = new AbortController();
    controller.current = current;
    setList((l) => (cursor ? { ...l, loading: true, error: null } : EMPTY));
    const result = await readRef.current(cursor, current.signal);
    if (current.signal.aborted) return;
    if (!result.ok) {
      setList((l) => ({ ...l, loading: false, error: describeFailure(result) }));
      return;
    }
    setList((l) => ({
      items: cursor ? appendPage(l.items, result.data.items, idRef.current) : result.data.items,
      nextCursor: result.data.nextCursor,
      loaded: true,
      loading: false,
      error: null,
    }));
  }, []);

  useEffect(() => {
    void load(null);
    return () => controller.current?.abort();
  }, [...deps, load]);

  const { nextCursor } = list;
  const more = useCallback(() => {
    if (nextCursor) void load(nextCursor);
  }, [nextCursor, load]);
  const replace = useCallback((item: T) => setList((l) => ({ ...l, items: replaceItem(l.items, item, idRef.current) })), []);
  return { ...list, more, replace };
}
