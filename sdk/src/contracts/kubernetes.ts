import * as z from 'zod';

/** Which executor a work pool's workers run: a local process per run, or a Kubernetes Job per run attempt. */
export const WorkPoolType = z.enum(['process', 'kubernetes']);
export type WorkPoolType = z.infer<typeof WorkPoolType>;

/**
 * A Kubernetes pool's base job template: a `batch/v1` Job manifest kept with the pool, for the
 * dashboard and as a record. Workers never build Jobs from it: a worker's template is its own
 * `--base-job-template` file (else DEFAULT_BASE_JOB_TEMPLATE), because the control plane is not
 * trusted inside the customer's network. The API validates it against the Kubernetes schemas when
 * it is saved; Outpost owns retries, so `spec.backoffLimit` is 0 or absent, and it has at least one
 * container.
 */
export const BaseJobTemplate = z.record(z.string(), z.unknown());
export type BaseJobTemplate = Record<string, unknown>;

/**
 * The image the default template runs, tagged with the SDK version: Node 20, the SDK runtime and
 * `outpost-pod-runner` on PATH, built from `infra/docker/runner.Dockerfile` and pushed to a
 * registry the cluster pulls from (docs/kubernetes.md).
 */
export const DEFAULT_RUNNER_IMAGE = 'ghcr.io/outpost-dev/runner:0.1.0';

/** The command of every run's pod: it dials its worker, receives the run's code and runs it. */
export const POD_RUNNER_COMMAND = ['outpost-pod-runner'] as const;

/**
 * The Job a Kubernetes worker started without `--base-job-template` builds every run's Job from,
 * which docs/kubernetes.md shows. The worker gives its flow container a securityContext without
 * privileges (no escalation, capabilities dropped, seccomp RuntimeDefault, non-root), which the
 * runner image's numeric user satisfies.
 */
export const DEFAULT_BASE_JOB_TEMPLATE = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: {},
  spec: {
    /** Outpost retries a run as a new attempt (a new Job); Kubernetes must not retry its Pod. */
    backoffLimit: 0,
    /** A finished Job and its Pod stay 10 minutes for `kubectl logs` and describe, then go. */
    ttlSecondsAfterFinished: 600,
    template: {
      metadata: {},
      spec: {
        restartPolicy: 'Never',
        containers: [{ name: 'flow', image: DEFAULT_RUNNER_IMAGE, command: [...POD_RUNNER_COMMAND] }],
      },
    },
  },
} as const satisfies BaseJobTemplate;
