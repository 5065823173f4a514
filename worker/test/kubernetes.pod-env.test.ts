import { describe, expect, it } from 'vitest';
import { podRunEnv, relayEnv } from '../src/executors/kubernetes/executor.js';

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

  it("hands the shared collector credentials over the relay unless the pod's own env sets them, and the run's own values win", () => {
    const headers = {
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=worker-key-0123',
      OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'k=traces-key-4567',
    };
    const manifest = (env: Record<string, unknown>[]) => ({
      spec: { template: { spec: { containers: [{ name: 'flow', env }] } } },
    });
    expect(relayEnv({ OUTPOST_RUN_ID: 'r' }, headers, manifest([{ name: 'OTEL_SERVICE_NAME', value: 'flows' }]))).toEqual({
      ...headers,
      OUTPOST_RUN_ID: 'r',
    });
    // A template that takes the headers from a Secret of its own keeps them.
    const fromSecret = [{ name: 'OTEL_EXPORTER_OTLP_HEADERS', valueFrom: { secretKeyRef: { name: 'otel', key: 'headers' } } }];
    expect(relayEnv({}, headers, manifest(fromSecret))).toEqual({ OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'k=traces-key-4567' });
    expect(relayEnv({ OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=job' }, headers, manifest([]))).toMatchObject({
      OTEL_EXPORTER_OTLP_HEADERS: 'x-api-key=job',
    });
    expect(relayEnv({ A: 'b' }, {}, manifest([]))).toEqual({ A: 'b' });
  });
});
