import { resultRefOf } from '../contracts/limits.js';
import { decodeResult, encodeResult, sha256Hex } from './cache.js';
import type { ResultStorage } from './result-storage.js';

/*
 * A flow run's own result, kept in the customer's result storage so that the run (or app) that
 * started it with `runDeployment` can read it. The control plane learns only the reference, in the
 * COMPLETED state's `data` (`{ "resultRef": "s3://…" }`).
 */

/** The storage key of a run's result: derived from the run id alone, so a reader needs nothing but the id. */
export function flowResultKey(runId: string): string {
  return `flow-${sha256Hex(`flow-result\u0000${runId}`)}`;
}

export { resultRefOf };

/** Writes the run's result; throws `NotCacheableError` for a value with no exact JSON form. Answers the reference. */
export async function writeFlowResult(storage: ResultStorage, runId: string, value: unknown): Promise<string> {
  const bytes = encodeResult(value);
  return (await storage.write(flowResultKey(runId), bytes, { expiresAt: null })).ref;
}

/** The run's stored result, or null when this storage holds none for it. */
export async function readFlowResult(storage: ResultStorage, runId: string): Promise<{ value: unknown } | null> {
  const bytes = await storage.read(flowResultKey(runId));
  return bytes ? decodeResult(bytes) : null;
}
