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
