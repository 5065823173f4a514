import { describeTransition } from './decisions.js';
import {
  cancelForUser,
  cancellingExitsOnlyToCancelled,
  fenceAttempt,
  holdOrReleaseForUser,
  keepTerminalFinal,
  limitUserProposals,
  requireHolderAttempt,
  retryFinishedRunForUser,
} from './guard-rules.js';
import {
  applyRetryPolicy,
  claimOnlyFromScheduled,
  completeOnlyFromRunning,
  handBackUnstarted,
  pauseOnlyFromRunning,
  rejectUnlisted,
  renameScheduledBySystem,
  resumeSuspended,
  startRunning,
} from './transition-rules.js';
import type { Decision, ProposalInput, Rule, RunSnapshot } from './types.js';

export type { Actor, Decision, ProposalInput, Rule, RunSnapshot, StateRecord } from './types.js';
export { describeTransition };

/**
 * The rules in the order they are consulted; the first one that decides wins. Order matters where
 * rules overlap: fencing comes first so a stale holder learns it is stale rather than why its
 * transition would be wrong, and user cancel/retry come before the terminal and cancelling guards
 * that would otherwise refuse them.
 */
export const RULES: readonly Rule[] = [
  fenceAttempt,
  requireHolderAttempt,
  limitUserProposals,
  holdOrReleaseForUser,
  retryFinishedRunForUser,
  cancelForUser,
  keepTerminalFinal,
  cancellingExitsOnlyToCancelled,
  claimOnlyFromScheduled,
  startRunning,
  pauseOnlyFromRunning,
  completeOnlyFromRunning,
  applyRetryPolicy,
  handBackUnstarted,
  resumeSuspended,
  renameScheduledBySystem,
];

/**
 * Judges a proposed transition of a flow run. Pure: time comes from `proposal.now` (the database
 * clock), and idempotency by transition id is the caller's, since it needs the stored answer.
 */
export function judge(run: RunSnapshot, proposal: ProposalInput): Decision {
  for (const rule of RULES) {
    const decision = rule(run, proposal);
    if (decision !== null) return decision;
  }
  return rejectUnlisted(run, proposal);
}
