import { randomUUID } from 'node:crypto';
import type { ClaimedExternalPoll } from '@outpost/sdk/contracts';

/**
 * A claimed first poll of the deferred job `leaky-job` (handle `{ id: 7 }`, polled every 30 s) of a
 * new run of `deployment`, its lease a minute long: what a worker's claim hands it to poll.
 */
export function claimedExternalPoll(deployment: ClaimedExternalPoll['deployment']): ClaimedExternalPoll {
  return {
    waitId: randomUUID(),
    leaseId: randomUUID(),
    action: 'poll',
    flowRunId: randomUUID(),
    spec: { kind: 'external', job: 'leaky-job', handle: { id: 7 }, pollSeconds: 30, label: 'Leaky job', link: null },
    polls: 0,
    failedPolls: 0,
    deployment,
    leaseExpiresAt: new Date(Date.now() + 60_000).toISOString(),
    timeoutSeconds: 30,
  };
}
