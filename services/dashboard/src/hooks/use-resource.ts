import { useCallback, useEffect, useRef, useState } from 'react';
import { type ApiResult, describeFailure } from '../api/client.js';

export interface Resource<T> {
  data: T | null;
  error: string | null;
  loading: boolean;
  /** Re-reads now; keeps showing the old data meanwhile. */
  reload: () => Promise<void>;
}

/**
 * Loads one API result and, with `pollMs`, re-reads it on that interval (each read starts after the
 * previous one ended, so slow answers never pile up). A 401 has already sent the user to sign in.
 */
export function useResource<T>(
  load: (signal: AbortSignal) => Promise<ApiResult<T>>,
  deps: readonly unknown[],
  options: { pollMs?: number | null } = {},
): Resource<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const loadRef = useRef(load);
  loadRef.current = load;
  const controllerRef = useRef<AbortController | null>(null);

  const read = useCallback(async () => {
    controllerRef.current?.abort();
    const controller = new AbortController();
    controllerRef.current = controller;
    const result = await loadRef.current(controller.signal);
    if (controller.signal.aborted) return;
    if (result.ok) {
      setData(result.data);
      setError(null);
    } else {
      setError(describeFailure(result));
    }
    setLoading(false);
  }, []);

  useEffect(() => {
    setData(null);
    setError(null);
    setLoading(true);
    let timer: ReturnType<typeof setTimeout> | null = null;
    let active = true;
    const tick = async () => {
      await read();
      if (active && options.pollMs) timer = setTimeout(tick, options.pollMs);
    };
    void tick();
    return () => {
      active = false;
      if (timer) clearTimeout(timer);
      controllerRef.current?.abort();
    };
  }, [...deps, options.pollMs, read]);

  return { data, error, loading, reload: read };
}
