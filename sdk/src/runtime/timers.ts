/*
 * Timers are looked up on globalThis at call time, never captured at import, so fake timers in
 * tests (and any other clock a host installs) govern retries, delays and timeouts.
 */

/** Wait `ms`; rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    if (ms <= 0) {
      resolve();
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Settle with `promise`, or reject with the signal's reason when it aborts first. Code that ignores
 * its signal keeps running in the background, but the caller is released.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** An AbortController that aborts with `reason()` after `seconds`, if given; `clear()` stops the timer. */
export function deadline(seconds: number | undefined, reason: () => Error): { signal: AbortSignal; clear: () => void } {
  const controller = new AbortController();
  if (seconds === undefined) return { signal: controller.signal, clear: () => {} };
  const timer = setTimeout(() => controller.abort(reason()), seconds * 1000);
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
