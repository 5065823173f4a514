import { useEffect, useState } from 'react';
import type { LayoutRequest, LayoutResult } from '../lib/lineage-layout.js';
import type { LayoutAnswer, LayoutMessage } from '../lib/lineage-layout.worker.js';

export type LineageLayoutState =
  | { status: 'idle' }
  | { status: 'laying-out' }
  | { status: 'done'; result: LayoutResult; ms: number }
  | { status: 'failed'; message: string };

let nextId = 1;

/**
 * Lays a lineage out in a Web Worker (one per mounted graph, ended on unmount): the page keeps
 * scrolling and answering while ELK works on 1,000 assets. A new request supersedes an older one.
 * `key` is what makes two requests the same (the graph's keys and edges).
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
    const worker = new Worker(new URL('../lib/lineage-layout.worker.ts', import.meta.url), { type: 'module' });
    const id = nextId++;
    setState({ status: 'laying-out' });
    worker.onmessage = (event: MessageEvent<LayoutAnswer>) => {
      const answer = event.data;
      if (answer.id !== id) return;
      setState(
        answer.ok ? { status: 'done', result: answer.result, ms: answer.ms } : { status: 'failed', message: answer.message },
      );
      worker.terminate();
    };
    worker.onerror = (event) => {
      setState({ status: 'failed', message: event.message || 'the layout worker failed' });
      worker.terminate();
    };
    const message: LayoutMessage = { id, request };
    worker.postMessage(message);
    return () => worker.terminate();
  }, [key]);
  return state;
}
