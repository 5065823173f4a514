import type { Role, Wait } from '@outpost/sdk/contracts';
import { mayCall } from './asset-metadata.js';

/**
 * Whether `role` may approve or reject `wait`, as the API decides it: the decide route must admit
 * the role and, when the approval names roles, the role must be one of them. An approval naming
 * none is decided by owner, admin and developer, which are the route's own roles. The API refuses
 * anyone else anyway; this only keeps the button from those it would refuse.
 */
export function mayDecide(role: Role | null, wait: Wait): boolean {
  if (wait.spec.kind !== 'approval' || wait.status !== 'WAITING') return false;
  if (!role || !mayCall(role, 'waitsDecide')) return false;
  return wait.spec.roles?.includes(role) ?? true;
}

/**
 * The approvals still waiting for a decision. The inbox loads its waiting list and its recent
 * decisions apart, so for a moment the waiting list may still hold a wait the decisions already
 * show, or the one just decided here: neither is waiting any more.
 */
export function stillWaiting(waiting: readonly Wait[], decided: readonly Wait[]): Wait[] {
  const decidedIds = new Set(decided.map((wait) => wait.id));
  return waiting.filter((wait) => !decidedIds.has(wait.id));
}
