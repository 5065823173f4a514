/// <reference lib="webworker" />
import ELK from 'elkjs/lib/elk.bundled.js';
import { fromElkLayout, type LayoutRequest, type LayoutResult, toElkGraph } from './lineage-layout.js';

/*
 * Lays out a lineage graph off the main thread. Messages in: `{ id, request }`; out:
 * `{ id, ok: true, result, ms }` or `{ id, ok: false, message }`, where `ms` is ELK's own time.
 */
export interface LayoutMessage {
  id: number;
  request: LayoutRequest;
}
export type LayoutAnswer =
  | { id: number; ok: true; result: LayoutResult; ms: number }
  | { id: number; ok: false; message: string };

declare const self: DedicatedWorkerGlobalScope;

const elk = new ELK();

// ELK's bundle, loaded in a worker, installs its own `self.onmessage` (it expects to be the worker
// script itself); this worker answers its own messages, so that handler is replaced.
self.onmessage = async (event: MessageEvent<LayoutMessage>) => {
  const { id, request } = event.data;
  const started = performance.now();
  try {
    const laidOut = await elk.layout(toElkGraph(request));
    const answer: LayoutAnswer = { id, ok: true, result: fromElkLayout(request, laidOut), ms: performance.now() - started };
    self.postMessage(answer);
  } catch (error) {
    const answer: LayoutAnswer = { id, ok: false, message: error instanceof Error ? error.message : String(error) };
    self.postMessage(answer);
  }
};
