import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { readPod } from '../src/executors/kubernetes/pod-status.js';

type ContainerState = NonNullable<NonNullable<V1Pod['status']>['containerStatuses']>[number]['state'];

/** A pod with this status whose one container, `flow`, is in `state`. */
function pod(status: Omit<NonNullable<V1Pod['status']>, 'containerStatuses'>, state: ContainerState): V1Pod {
  const flow = { name: 'flow', image: 'i', imageID: '', ready: false, restartCount: 0, state };
  return { metadata: { name: 'p' }, status: { ...status, containerStatuses: [flow] } };
}

describe('reading a pod of an attempt', () => {
  it('names the eviction when the kubelet evicted the pod and its container only reads Error', () => {
    const reading = readPod(
      pod(
        { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' },
        { terminated: { exitCode: 137, reason: 'Error' } },
      ),
      'flow',
    );
    expect(reading).toEqual({
      kind: 'ended',
      exit: { code: 137, signal: null, reason: 'Evicted: The node was low on resource: memory.' },
    });
  });

  it("keeps the container's own reason (OOMKilled) over the pod's", () => {
    const reading = readPod(
      pod({ phase: 'Failed', reason: 'Evicted' }, { terminated: { exitCode: 137, reason: 'OOMKilled' } }),
      'flow',
    );
    expect(reading).toEqual({ kind: 'ended', exit: { code: 137, signal: null, reason: 'OOMKilled' } });
  });

  it('gives no reason for a container that exited on its own in a pod that failed without one', () => {
    const reading = readPod(pod({ phase: 'Failed' }, { terminated: { exitCode: 3, reason: 'Error' } }), 'flow');
    expect(reading).toEqual({ kind: 'ended', exit: { code: 3, signal: null } });
  });

  it('takes a container the kubelet cannot create (a non-numeric user in a pod that must not run as root) as a start problem', () => {
    const message = 'container has runAsNonRoot and image has non-numeric user (node), cannot verify user is non-root';
    const reading = readPod(pod({ phase: 'Pending' }, { waiting: { reason: 'CreateContainerConfigError', message } }), 'flow');
    expect(reading).toEqual({ kind: 'image-pull', reason: 'CreateContainerConfigError', message });
  });
});
