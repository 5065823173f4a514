import type { FlowRun, FlowRunAttempt } from '@outpost/sdk/contracts';
import { useEffect, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';

/** A run's attempts, read again whenever the run changes (its `updatedAt`); nothing until the run is read. */
export function useRunAttempts(run: Pick<FlowRun, 'id' | 'updatedAt'> | null): {
  attempts: FlowRunAttempt[] | null;
  error: string | null;
} {
  const [attempts, setAttempts] = useState<FlowRunAttempt[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = run?.id ?? null;
  // biome-ignore lint/correctness/useExhaustiveDependencies: every change of the run (its updatedAt) re-reads its attempts
  useEffect(() => {
    if (!id) return;
    let current = true;
    void api.call('flowRunsAttempts', { params: { id } }).then((result) => {
      if (!current) return;
      if (result.ok) {
        setAttempts(result.data.items);
        setError(null);
      } else setError(describeFailure(result));
    });
    return () => {
      current = false;
    };
  }, [id, run?.updatedAt]);
  return { attempts, error };
}
