/** What the CEL sandbox's threads are sent and answer (sandbox.ts ↔ sandbox-thread.ts). */

/** One expression or template to evaluate, with the index of its bindings in the batch. */
export type SandboxItem =
  | { kind: 'expression'; source: string; variables: readonly string[]; bindings: number }
  | { kind: 'template'; template: unknown; variables: readonly string[]; bindings: number };

/**
 * How an evaluation ended: its value, or why it has none — `error` for the expression's own failure
 * on this input (a missing field, a type mismatch), `timeout` past the deadline, `memory` past the
 * thread's heap limit, `skipped` when the call's whole budget was spent before its turn.
 */
export type SandboxResult =
  | { ok: true; value: unknown }
  | { ok: false; reason: 'error' | 'timeout' | 'memory' | 'skipped'; message: string };

export interface SandboxBatch {
  id: number;
  bindings: Record<string, unknown>[];
  items: SandboxItem[];
  /** An Int32Array's memory: [0] is 1 + the index of the item under way, 0 when none. */
  progress: SharedArrayBuffer;
}

export interface SandboxAnswer {
  id: number;
  results: SandboxResult[];
}

/** A thread's first message: it has loaded its code, and this is its kernel thread id (null where the system does not say). */
export interface SandboxReady {
  ready: true;
  tid: number | null;
}
