import { parentPort } from 'node:worker_threads';
import { compileCel, compileTemplate } from './index.js';
import type { SandboxBatch, SandboxItem, SandboxReady, SandboxResult } from './sandbox-protocol.js';
import { currentThreadId } from './thread-clock.js';

/*
 * One thread of the CEL sandbox (sandbox.ts). It evaluates a batch of expressions and templates in
 * order, writing the index of the item under way into shared memory before each one, so the pool
 * can tell which item ran past its deadline when it terminates the thread.
 */

const CACHE_SIZE = 2000;
const compiled = new Map<string, (bindings: Record<string, unknown>) => unknown>();

function program(item: SandboxItem): (bindings: Record<string, unknown>) => unknown {
  const key =
    item.kind === 'expression'
      ? `e\u0000${item.variables.join(',')}\u0000${item.source}`
      : `t\u0000${item.variables.join(',')}\u0000${JSON.stringify(item.template)}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  let run: (bindings: Record<string, unknown>) => unknown;
  if (item.kind === 'expression') {
    const p = compileCel(item.source, item.variables);
    run = (bindings) => p.evaluate(bindings);
  } else {
    const t = compileTemplate(item.template, item.variables);
    run = (bindings) => t.render(bindings);
  }
  compiled.set(key, run);
  if (compiled.size > CACHE_SIZE) compiled.delete(compiled.keys().next().value as string);
  return run;
}

parentPort?.on('message', (batch: SandboxBatch) => {
  const progress = new Int32Array(batch.progress);
  const results: SandboxResult[] = [];
  for (const [i, item] of batch.items.entries()) {
    Atomics.store(progress, 0, i + 1);
    try {
      const value = program(item)(batch.bindings[item.bindings] ?? {});
      results.push({ ok: true, value });
    } catch (error) {
      results.push({ ok: false, reason: 'error', message: error instanceof Error ? error.message : String(error) });
    }
  }
  Atomics.store(progress, 0, 0);
  parentPort?.postMessage({ id: batch.id, results });
});

// Ready, with this thread's kernel id: the pool reads its CPU time to judge each evaluation.
parentPort?.postMessage({ ready: true, tid: currentThreadId() } satisfies SandboxReady);
