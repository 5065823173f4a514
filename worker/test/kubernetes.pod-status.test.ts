import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readPod } from '../src/executors/kubernetes/pod-status.js';

function pod(status: V1Pod['status']): V1Pod {
  return { metadata: { name: 'p' }, status };
}

describe('reading a pod of an attempt', () => {
  it('names the eviction when the kubelet evicted the pod and its container only reads Error', () => {
    const reading = readPod(
      pod({
        phase: 'Failed',
        reason: 'Evicted',
        message: 'The node was low on resource: memory.',
        containerStatuses: [
          {
            name: 'flow',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 137, reason: 'Error' } },
          },
        ],
      }),
      'flow',
    );
    expect(reading).toEqual({
      kind: 'ended',
      exit: { code: 137, signal: null, reason: 'Evicted: The node was low on resource: memory.' },
    });
  });

  it("keeps the container's own reason (OOMKilled) over the pod's", () => {
    const reading = readPod(
      pod({
        phase: 'Failed',
        reason: 'Evicted',
        containerStatuses: [
          {
            name: 'flow',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
          },
        ],
      }),
      'flow',
    );
    expect(reading).toEqual({ kind: 'ended', exit: { code: 137, signal: null, reason: 'OOMKilled' } });
  });

  it('gives no reason for a container that exited on its own in a pod that failed without one', () => {
    const reading = readPod(
      pod({
        phase: 'Failed',
        containerStatuses: [
          {
            name: 'flow',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { terminated: { exitCode: 3, reason: 'Error' } },
          },
        ],
      }),
      'flow',
    );
    expect(reading).toEqual({ kind: 'ended', exit: { code: 3, signal: null } });
  });

  it('takes a container the kubelet cannot create (a non-numeric user in a pod that must not run as root) as a start problem', () => {
    const message = 'container has runAsNonRoot and image has non-numeric user (node), cannot verify user is non-root';
    const reading = readPod(
      pod({
        phase: 'Pending',
        containerStatuses: [
          {
            name: 'flow',
            image: 'i',
            imageID: '',
            ready: false,
            restartCount: 0,
            state: { waiting: { reason: 'CreateContainerConfigError', message } },
          },
        ],
      }),
      'flow',
    );
    expect(reading).toEqual({ kind: 'image-pull', reason: 'CreateContainerConfigError', message });
  });
});
