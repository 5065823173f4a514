import { type FlowRun, FlowRunEvent } from '@outpost/sdk/contracts';

export type LiveStatus = 'connecting' | 'live' | 'polling' | 'stopped';

/** The part of the browser's EventSource the subscription uses. */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((this: EventSourceLike, ev: Event) => unknown) | null;
  onmessage: ((this: EventSourceLike, ev: MessageEvent) => unknown) | null;
  onerror: ((this: EventSourceLike, ev: Event) => unknown) | null;
  close(): void;
}

const CLOSED = 2;

export interface RunEventsOptions {
  url: string;
  onRun: (run: FlowRun) => void;
  /** Re-reads what the view shows: every `pollMs` while the stream is down, and once after it comes back. */
  poll: () => void | Promise<void>;
  onStatus?: (status: LiveStatus) => void;
  /** @default 5000 */
  pollMs?: number;
  /** First delay before reopening a stream the server closed; doubles up to `maxReconnectMs`. @default 5000 */
  reconnectMs?: number;
  /** @default 60000 */
  maxReconnectMs?: number;
  /** Makes the stream; the global EventSource when absent. Without either, the subscription only polls. */
  createEventSource?: (url: string) => EventSourceLike;
}

/**
 * Follows flow-run changes over Server-Sent Events. Events are a hint, not delivery: while the
 * stream is down the view is re-read every few seconds, and once more when it reconnects, so a
 * change missed in between still shows up. Returns the function that stops everything.
 */
export function subscribeRunEvents(options: RunEventsOptions): () => void {
  const pollMs = options.pollMs ?? 5000;
  const baseReconnect = options.reconnectMs ?? 5000;
  const maxReconnect = options.maxReconnectMs ?? 60_000;
  const create =
    options.createEventSource ??
    (typeof EventSource === 'undefined'
      ? undefined
      : (url: string) => new EventSource(url, { withCredentials: true }) as unknown as EventSourceLike);

  let stopped = false;
  let source: EventSourceLike | null = null;
  let pollTimer: ReturnType<typeof setTimeout> | null = null;
  let reconnectTimer: ReturnType<typeof setTimeout> | null = null;
  let reconnectDelay = baseReconnect;
  let polling = false;
  let missedSomething = false;
  let status: LiveStatus | null = null;

  const setStatus = (next: LiveStatus) => {
    if (next === status) return;
    status = next;
    options.onStatus?.(next);
  };

  const runPoll = async () => {
    try {
      await options.poll();
    } catch {
      // the view reports its own load errors; the loop keeps going
    }
  };

  const schedulePoll = () => {
    if (stopped || !polling) return;
    pollTimer = setTimeout(async () => {
      pollTimer = null;
      await runPoll();
      schedulePoll();
    }, pollMs);
  };

  const startPolling = () => {
    missedSomething = true;
    setStatus('polling');
    if (polling) return;
    polling = true;
    schedulePoll();
  };

  const stopPolling = () => {
    polling = false;
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  };

  const connect = () => {
    if (stopped) return;
    if (!create) {
      startPolling();
      return;
    }
    setStatus(polling ? 'polling' : 'connecting');
    const es = create(options.url);
    source = es;
    es.onopen = () => {
      if (stopped || source !== es) return;
      reconnectDelay = baseReconnect;
      stopPolling();
      setStatus('live');
      if (missedSomething) {
        missedSomething = false;
        void runPoll();
      }
    };
    es.onmessage = (event: MessageEvent) => {
      if (stopped || source !== es) return;
      let json: unknown;
      try {
        json = JSON.parse(String(event.data));
      } catch {
        return;
      }
      const parsed = FlowRunEvent.safeParse(json);
      if (parsed.success) options.onRun(parsed.data);
    };
    es.onerror = () => {
      if (stopped || source !== es) return;
      startPolling();
      // CONNECTING means the browser retries by itself; CLOSED (an HTTP error, a wrong type) means it gave up.
      if (es.readyState === CLOSED) {
        es.close();
        source = null;
        reconnectTimer = setTimeout(() => {
          reconnectTimer = null;
          connect();
        }, reconnectDelay);
        reconnectDelay = Math.min(reconnectDelay * 2, maxReconnect);
      }
    };
  };

  connect();

  return () => {
    stopped = true;
    stopPolling();
    if (reconnectTimer) clearTimeout(reconnectTimer);
    source?.close();
    source = null;
    setStatus('stopped');
  };
}
