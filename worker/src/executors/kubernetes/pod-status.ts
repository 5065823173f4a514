import type { V1Job, V1Pod } from '@kubernetes/client-node';
import type { AttemptExit } from '../executor.js';

/** What a pod's status says about its attempt right now. */
export type PodReading =
  /** Still on its way: scheduled or not, pulling, running. */
  | { kind: 'pending' }
  /**
   * Its image cannot be pulled, or its container cannot be created from it (yet): a problem once it
   * lasts past `--image-pull-timeout`.
   */
  | { kind: 'image-pull'; reason: string; message: string }
  /** No node can take it (yet): a problem once it lasts past `--unschedulable-timeout`. */
  | { kind: 'unschedulable'; message: string }
  /** The flow container runs: its output can be followed. */
  | { kind: 'running' }
  /** It ended. */
  | { kind: 'ended'; exit: AttemptExit };

/**
 * Why a container waits that only a change to the Job can fix. `CreateContainerConfigError` is what
 * the kubelet says of a Secret the pod names that does not exist, and of an image whose user is not
 * numeric in a pod that must not run as root (the default securityContext, `runAsNonRoot`).
 */
const IMAGE_PULL_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CreateContainerConfigError',
]);

/** Reads a pod's status; `container` is the flow container's name. */
export function readPod(pod: V1Pod, container: string): PodReading {
  const status = pod.status;
  const containerStatus = status?.containerStatuses?.find((c) => c.name === container) ?? status?.containerStatuses?.[0];
  const terminated = containerStatus?.state?.terminated;
  if (terminated) {
    // An evicted pod's container reads only `Error` (exit 137); the pod's own status says why it ended.
    const podReason = status?.phase === 'Failed' && status.reason ? withMessage(status.reason, status.message) : undefined;
    const reason =
      (terminated.reason && !['Completed', 'Error'].includes(terminated.reason) ? terminated.reason : undefined) ?? podReason;
    return { kind: 'ended', exit: { code: terminated.exitCode ?? null, signal: null, ...(reason ? { reason } : {}) } };
  }
  if (status?.phase === 'Failed' || status?.phase === 'Succeeded') {
    // Evicted pods, and pods the Job controller failed at its deadline, end without a container status.
    const reason = status.reason ?? (status.phase === 'Failed' ? 'Failed' : undefined);
    return {
      kind: 'ended',
      exit: {
        code: status.phase === 'Succeeded' ? 0 : null,
        signal: null,
        ...(reason ? { reason: withMessage(reason, status.message) } : {}),
      },
    };
  }
  const waiting = containerStatus?.state?.waiting;
  if (waiting?.reason && IMAGE_PULL_REASONS.has(waiting.reason)) {
    return { kind: 'image-pull', reason: waiting.reason, message: waiting.message ?? '' };
  }
  if (containerStatus?.state?.running) return { kind: 'running' };
  const scheduled = status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { kind: 'unschedulable', message: scheduled.message ?? '' };
  }
  return { kind: 'pending' };
}

/** Why a Job failed, when its controller says (`DeadlineExceeded`, `BackoffLimitExceeded`). */
export function jobFailure(job: V1Job): string | null {
  const failed = job.status?.conditions?.find((c) => c.type === 'Failed' && c.status === 'True');
  return failed ? withMessage(failed.reason ?? 'Failed', failed.message) : null;
}

/** Whether a Job still has an attempt in progress: neither Complete nor Failed. */
export function jobActive(job: V1Job): boolean {
  return !job.status?.conditions?.some((c) => (c.type === 'Complete' || c.type === 'Failed') && c.status === 'True');
}

function withMessage(reason: string, message: string | undefined): string {
  return message ? `${reason}: ${message}` : reason;
}
