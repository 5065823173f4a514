import type { ClaimedExternalPoll, ExternalPollCompleteRequest } from '@outpost/sdk/contracts';
import { type BundleProcessDeps, runBundleProcess } from '../bundle-process.js';

/** What the worker reports of one poll of a deferred job. */
export type PollReport = Pick<ExternalPollCompleteRequest, 'outcome' | 'logs'>;

type Status = Extract<PollReport['outcome'], { state: 'running' | 'succeeded' | 'failed' | 'cancelled' }>;

/**
 * Polls one deferred job — or, for `action: 'cancel'`, asks its system to cancel it — in a process
 * loaded from the run's pinned code with the deployment's job variables, so the job's credentials
 * are the worker's and never leave it. The job's messages and log lines are masked for the secrets
 * the worker resolved. Null when `stopped` was aborted first (the lease runs out and another worker
 * of the pool polls the job).
 */
export async function evaluateExternalPoll(
  poll: ClaimedExternalPoll,
  deps: BundleProcessDeps,
  stopped: AbortSignal,
): Promise<PollReport | null> {
  const ran = await runBundleProcess<{ status: Status } | { error: string }>(
    {
      what: poll.action === 'cancel' ? `the cancellation of ${poll.spec.label}` : `the poll of ${poll.spec.label}`,
      code: poll.deployment,
      program: '@outpost/sdk/external-job-runner',
      args: [poll.spec.job, poll.action],
      env: {
        OUTPOST_EXTERNAL_HANDLE: JSON.stringify(poll.spec.handle),
        OUTPOST_EXTERNAL_TIMEOUT_SECONDS: String(poll.timeoutSeconds),
        OUTPOST_FLOW_RUN_ID: poll.flowRunId,
        OUTPOST_DEPLOYMENT_ID: poll.deployment.id,
      },
      timeoutSeconds: poll.timeoutSeconds,
      answer: (message) => {
        const m = message as { t?: unknown; status?: unknown; error?: unknown } | null;
        if (m?.t === 'externalStatus' && typeof m.status === 'object' && m.status !== null) return { status: m.status as Status };
        if (m?.t === 'externalError' && typeof m.error === 'string') return { error: m.error };
        return null;
      },
    },
    { ...deps, logger: deps.logger.child({ waitId: poll.waitId, job: poll.spec.job, action: poll.action }) },
    stopped,
  );
  if (ran === null) return null;
  const { outcome, logs, redact, redactJson } = ran;
  if (outcome.status === 'error') return { outcome: { state: 'error', error: outcome.error }, logs };
  const { answer } = outcome;
  if ('error' in answer)
    return { outcome: { state: 'error', error: redact(answer.error).slice(0, 8_000) || 'the poll failed' }, logs };
  const status = answer.status;
  // What reaches the control plane is masked like the logs, keys as well as values: a job's message or
  // result may echo a credential. The result is what `defer()` returns once the run resumes, so a
  // secret in it comes back masked: the control plane must not hold it, and the flow reads it from
  // the job's system if it needs it.
  return { outcome: redactJson(status), logs };
}
