import { describe, expect, it } from 'vitest';
import { podRunEnv } from '../src/executors/kubernetes/executor.js';

describe("a run's variables in its pod", () => {
  it('drops CUDA_VISIBLE_DEVICES of assigned ledger ids and keeps OUTPOST_ASSIGNED_GPUS', () => {
    expect(podRunEnv({ CUDA_VISIBLE_DEVICES: '2,3', OUTPOST_ASSIGNED_GPUS: '2,3', A: 'b' })).toEqual({
      OUTPOST_ASSIGNED_GPUS: '2,3',
      A: 'b',
    });
  });

  it('keeps the empty CUDA_VISIBLE_DEVICES of a run that asked for no GPU', () => {
    expect(podRunEnv({ CUDA_VISIBLE_DEVICES: '', A: 'b' })).toEqual({ CUDA_VISIBLE_DEVICES: '', A: 'b' });
  });
});
