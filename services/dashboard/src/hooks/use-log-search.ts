import type { LogLevel } from '@outpost/sdk/contracts';
import { useCallback, useEffect, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { LogStore } from '../lib/log-store.js';

/** Matches asked for per request. */
const PAGE = 1000;
/** Typing waits this long before searching, so a word is one search rather than one per letter. */
export const SEARCH_DEBOUNCE_MS = 250;
const FOLLOW_MS = 2000;
const RETRY_MS = 5000;

/**
 * `searching`: reading (or waiting to read) the log for the text; `paused`: a page of matches is
 * shown and more of the log is unread (`loadMore` reads on); `done`: every line stored was looked at.
 */
export type LogSearchStatus = 'idle' | 'searching' | 'paused' | 'done';

export interface LogSearch {
  /** The matches of `text` at `minLevel` and above, in log order; null before the first answer. */
  store: LogStore | null;
  /** The text and level `store` holds matches of (the box may already say more). */
  text: string;
  minLevel: LogLevel;
  /** Bumps whenever matches were added. */
  version: number;
  status: LogSearchStatus;
  error: string | null;
  /** Reads on past the matches shown (when `paused`). */
  loadMore(): void;
}

/**
 * Searches a run's log on the server (`q`), so a search costs what its matches cost rather than a
 * download of the whole log. A change of text or level starts a new search once typing rests,
 * abandoning (aborting) the one before; the old matches stay on screen until the new search answers.
 * The server reads a bounded stretch of the log per request, so a rare text deep in a long log takes
 * a few requests: they follow one another until a page of matches is found, then wait for `loadMore`.
 * While the run is live, a finished search keeps polling from where it stopped for new lines.
 */
export function useLogSearch(runId: string, text: string, minLevel: LogLevel, live: boolean): LogSearch {
  const [shown, setShown] = useState<{ store: LogStore; text: string; minLevel: LogLevel } | null>(null);
  const [version, setVersion] = useState(0);
  const [status, setStatus] = useState<LogSearchStatus>('idle');
  const [error, setError] = useState<string | null>(null);
  const liveRef = useRef(live);
  liveRef.current = live;
  const wantedRef = useRef(PAGE);
  const wakeRef = useRef<(() => void) | null>(null);

  useEffect(() => {
    setError(null);
    if (text === '') {
      setShown(null);
      setStatus('idle');
      return;
    }
    setStatus('searching');
    const controller = new AbortController();
    const store = new LogStore();
    wantedRef.current = PAGE;
    let timer: ReturnType<typeof setTimeout> | null = null;
    /** Resolves after `ms`, or at once when woken (`loadMore`) or abandoned; `ms` null waits for those alone. */
    const rest = (ms: number | null) =>
      new Promise<void>((resolve) => {
        const done = () => {
          if (timer) clearTimeout(timer);
          timer = null;
          if (wakeRef.current === done) wakeRef.current = null;
          controller.signal.removeEventListener('abort', done);
          resolve();
        };
        wakeRef.current = done;
        controller.signal.addEventListener('abort', done);
        if (ms !== null) timer = setTimeout(done, ms);
      });

    const loop = async () => {
      await rest(SEARCH_DEBOUNCE_MS);
      let cursor: string | undefined;
      let answered = false;
      while (!controller.signal.aborted) {
        const result = await api.call('logsRead', {
          params: { id: runId },
          query: { q: text, level: minLevel === 'debug' ? undefined : minLevel, limit: PAGE, cursor },
          signal: controller.signal,
        });
        if (controller.signal.aborted) return;
        if (!result.ok) {
          setError(describeFailure(result));
          await rest(RETRY_MS);
          continue;
        }
        setError(null);
        cursor = result.data.nextCursor;
        const added = store.append(result.data.items);
        if (!answered) {
          answered = true;
          setShown({ store, text, minLevel });
        }
        if (added > 0) setVersion((v) => v + 1);
        if (result.data.more) {
          if (store.size < wantedRef.current) continue;
          setStatus('paused');
          await rest(null);
          setStatus('searching');
          continue;
        }
        setStatus('done');
        if (!liveRef.current) return;
        await rest(FOLLOW_MS);
      }
    };
    void loop();
    return () => controller.abort();
  }, [runId, text, minLevel]);

  const loadMore = useCallback(() => {
    wantedRef.current += PAGE;
    wakeRef.current?.();
  }, []);

  return {
    store: shown?.store ?? null,
    text: shown?.text ?? text,
    minLevel: shown?.minLevel ?? minLevel,
    version,
    status,
    error,
    loadMore,
  };
}
