import { useEffect, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { LogStore } from '../lib/log-store.js';

const BATCH = 5000;
const FOLLOW_MS = 2000;
const RETRY_MS = 5000;

export interface LogTail {
  store: LogStore;
  /** Bumps whenever lines were added. */
  version: number;
  error: string | null;
  /** True once the backlog has been read. */
  caughtUp: boolean;
}

/**
 * Reads a run's logs from the start by cursor into one store, then keeps polling from the last
 * cursor while `follow` is on (the run is not terminal). When following stops, it drains once
 * more so the last lines written before the run ended are not missed.
 */
export function useLogTail(runId: string, follow: boolean): LogTail {
  const storeRef = useRef<LogStore | null>(null);
  if (!storeRef.current) storeRef.current = new LogStore();
  const store = storeRef.current;
  const [version, setVersion] = useState(0);
  const [error, setError] = useState<string | null>(null);
  const [caughtUp, setCaughtUp] = useState(false);
  const followRef = useRef(follow);
  followRef.current = follow;
  const cursorRef = useRef<string | undefined>(undefined);
  const wakeRef = useRef<(() => void) | null>(null);
  const endedRef = useRef(false);
  const [generation, setGeneration] = useState(0);

  useEffect(() => {
    // a change of `follow` wakes a sleeping loop so the final drain happens at once,
    // and restarts an ended one when the run goes live again (a retry)
    wakeRef.current?.();
    if (follow && endedRef.current) {
      endedRef.current = false;
      setGeneration((g) => g + 1);
    }
  }, [follow]);

  // biome-ignore lint/correctness/useExhaustiveDependencies: a new generation restarts the loop from the kept cursor
  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        wakeRef.current = () => {
          if (timer) clearTimeout(timer);
          resolve();
        };
        timer = setTimeout(resolve, ms);
      });

    const loop = async () => {
      let finalDrain = false;
      while (!controller.signal.aborted) {
        const result = await api.call('logsRead', {
          params: { id: runId },
          query: { cursor: cursorRef.current, limit: BATCH },
          signal: controller.signal,
        });
        if (controller.signal.aborted) return;
        if (!result.ok) {
          setError(describeFailure(result));
          await sleep(RETRY_MS);
          continue;
        }
        setError(null);
        cursorRef.current = result.data.nextCursor;
        if (store.append(result.data.items) > 0) setVersion((v) => v + 1);
        if (result.data.items.length >= BATCH) continue;
        setCaughtUp(true);
        if (!followRef.current) {
          if (finalDrain) {
            endedRef.current = true;
            return;
          }
          finalDrain = true;
          continue;
        }
        finalDrain = false;
        await sleep(FOLLOW_MS);
      }
    };
    void loop();
    return () => {
      controller.abort();
      if (timer) clearTimeout(timer);
      wakeRef.current?.();
    };
  }, [runId, store, generation]);

  return { store, version, error, caughtUp };
}
