import { randomUUID } from 'node:crypto';
import type { ProposedState, StateProposalResponse } from '@outpost/sdk/contracts';
import type { AppDeps } from '../context.js';
import type { Handlers } from '../http/route-types.js';
import { proposeState } from './db/propose-state.js';

/**
 * Cancel and retry are proposals by a user, judged by the same rules as `set-state`: the answer
 * says ACCEPT with the state the run is in now, or REJECT with the reason (a finished run cannot
 * be cancelled, a running one cannot be retried).
 */
async function proposeForUser(
  deps: AppDeps,
  input: { workspaceId: string; runId: string; transitionId: string | undefined; state: ProposedState },
): Promise<StateProposalResponse> {
  const response = await proposeState(deps.sql, deps.metrics, {
    workspaceId: input.workspaceId,
    runId: input.runId,
    transitionId: input.transitionId ?? randomUUID(),
    state: input.state,
    attempt: null,
    actor: 'user',
  });
  if (!response) throw new Error('a proposal without a lease condition was skipped');
  return response;
}

export const flowRunActionHandlers = {
  flowRunsCancel: ({ params, body, principal, deps }) =>
    proposeForUser(deps, {
      workspaceId: principal.workspaceId,
      runId: params.id,
      transitionId: body.transitionId,
      // A waiting run goes straight to CANCELLED; the rules decide which.
      state: { type: 'CANCELLING', ...(body.message ? { message: body.message } : {}) },
    }),

  flowRunsRetry: ({ params, body, principal, deps }) =>
    proposeForUser(deps, {
      workspaceId: principal.workspaceId,
      runId: params.id,
      transitionId: body.transitionId,
      state: { type: 'SCHEDULED', ...(body.message ? { message: body.message } : {}) },
    }),
} satisfies Pick<Handlers, 'flowRunsCancel' | 'flowRunsRetry'>;
