import type { CheckFunction, CheckOutcome } from '../assets/asset.js';
import type { MetadataValue } from '../assets/io.js';
import { currentScope } from '../runtime/context.js';

/** The check results processes reported for one materialisation: one run, asset and partition. */
interface Slot {
  /** The task attempt whose processes reported them: a retry starts over, so a check cannot pass on an earlier attempt's word. */
  attempt: string;
  checks: Map<string, CheckOutcome>;
}

/** Materialisations remembered at most; the oldest is forgotten first. */
const MAX_SLOTS = 10_000;

const slots = new Map<string, Slot>();

const slotKey = (runId: string, assetKey: string, partitionKey: string | null) => JSON.stringify([runId, assetKey, partitionKey]);

/**
 * Prepares the slots a process of this task attempt reports checks into. Processes of the same
 * attempt add to each other's results; a new attempt replaces them.
 */
export function openCheckSlots(
  runId: string,
  assetKey: string,
  partitionKeys: readonly (string | null)[],
  attempt: string,
): void {
  for (const partitionKey of partitionKeys) {
    const key = slotKey(runId, assetKey, partitionKey);
    const existing = slots.get(key);
    if (existing?.attempt === attempt) continue;
    slots.delete(key);
    slots.set(key, { attempt, checks: new Map() });
    if (slots.size > MAX_SLOTS) {
      const oldest = slots.keys().next().value;
      if (oldest !== undefined) slots.delete(oldest);
    }
  }
}

export function recordCheck(
  runId: string,
  assetKey: string,
  partitionKeys: readonly (string | null)[],
  name: string,
  outcome: { passed: boolean; metadata: Record<string, MetadataValue> },
): void {
  for (const partitionKey of partitionKeys) slots.get(slotKey(runId, assetKey, partitionKey))?.checks.set(name, outcome);
}

/**
 * A check function whose outcome is what a process launched with `pipes.run({ asset: ctx })`
 * reported for the check's name (or `name`) in the same materialisation. A check no process
 * reported fails with `{ reported: false }` as its metadata.
 */
export function reportedCheck(name?: string): CheckFunction<unknown> {
  return (_value, ctx) => {
    const runId = currentScope().run?.run.id ?? 'local';
    const reported = slots.get(slotKey(runId, ctx.assetKey, ctx.partitionKey))?.checks.get(name ?? ctx.checkName);
    if (!reported) return { passed: false, metadata: { reported: false } };
    return { passed: reported.passed, metadata: { ...(reported.metadata ?? {}) } };
  };
}
