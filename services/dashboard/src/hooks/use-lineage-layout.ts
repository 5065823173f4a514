import { useEffect, useState } from 'react';
import type { LayoutRequest, LayoutResult } from '../lib/lineage-layout.js';
import type { LayoutAnswer, LayoutMessage } from '../lib/lineage-layout.worker.js';

export type LineageLayoutState =
  | { status: 'idle' }
  | { status: 'laying-out' }
  | { status: 'done'; result: LayoutResult; ms: number }
  | { status: 'failed'; message: string };

/*
 * One layout worker for the page, kept while it is used and for a while after: ELK is a large
 * compiled program whose first layout runs mostly unoptimised (a 1,000-asset graph took about three
 * times as long cold as warm), so coming back to the graph reuses a warmed-up worker. Layouts are
 * also remembered by the graph's shape, so a graph seen before is drawn at once.
 */
const IDLE_MS = 120_000;
const REMEMBERED = 4;

type Done = { result: LayoutResult; ms: number };
const remembered = new Map<string, Done>();
const pending = new Map<number, (answer: LayoutAnswer) => void>();
let shared: { worker: Worker; idle: ReturnType<typeof setTimeout> | null } | null = null;
let nextId = 1;

function layoutWorker(): Worker {
  if (!shared) {
    const worker = new Worker(new URL('../lib/lineage-layout.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (event: MessageEvent<LayoutAnswer>) => {
      const done = pending.get(event.data.id);
      pending.delete(event.data.id);
      done?.(event.data);
      releaseWhenIdle();
    };
    worker.onerror = (event) => {
      const message = event.message || 'the layout worker failed';
      for (const [id, done] of pending) done({ id, ok: false, message });
      pending.clear();
      worker.terminate();
      shared = null;
    };
    shared = { worker, idle: null };
  }
  if (shared.idle) clearTimeout(shared.idle);
  shared.idle = null;
  return shared.worker;
}

function releaseWhenIdle(): void {
  if (!shared || pending.size > 0) return;
  const current = shared;
  current.idle = setTimeout(() => {
    if (shared !== current || pending.size > 0) return;
    current.worker.terminate();
    shared = null;
  }, IDLE_MS);
}

function remember(key: string, done: Done): void {
  remembered.delete(key);
  remembered.set(key, done);
  while (remembered.size > REMEMBERED) {
    const oldest = remembered.keys().next().value;
    if (oldest === undefined) break;
    remembered.delete(oldest);
  }
}

/** Starts the worker (its script is large) while the lineage itself is still being fetched. */
export function warmLineageLayout(): void {
  layoutWorker();
  releaseWhenIdle();
}

/**
 * Lays a lineage out in the Web Worker: the page keeps scrolling and answering while ELK places
 * 1,000 assets. `key` is the graph's shape (its keys and edges): the same shape is laid out once.
 * A layout still running when the page is left finishes in the worker and is remembered.
 */
export function useLineageLayout(request: LayoutRequest | null, key: string): LineageLayoutState {
  const [state, setState] = useState<LineageLayoutState>({ status: 'idle' });
  // biome-ignore lint/correctness/useExhaustiveDependencies: the key is the identity of the request
  useEffect(() => {
    if (!request) {
      setState({ status: 'idle' });
      return;
    }
    if (request.keys.length === 0) {
      setState({ status: 'done', result: { positions: [], width: 0, height: 0 }, ms: 0 });
      return;
    }
    const known = remembered.get(key);
    if (known) {
      setState({ status: 'done', ...known });
      return;
    }
    let active = true;
    const id = nextId++;
    setState({ status: 'laying-out' });
    pending.set(id, (answer) => {
      if (answer.ok) remember(key, { result: answer.result, ms: answer.ms });
      if (!active) return;
      setState(
        answer.ok ? { status: 'done', result: answer.result, ms: answer.ms } : { status: 'failed', message: answer.message },
      );
    });
    const message: LayoutMessage = { id, request };
    layoutWorker().postMessage(message);
    return () => {
      active = false;
    };
  }, [key]);
  return state;
}
