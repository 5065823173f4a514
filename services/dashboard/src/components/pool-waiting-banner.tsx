import type { RunWaitingFor } from '@outpost/sdk/contracts';
import { Notice } from './notice.js';

/**
 * Says why runs of a pool cannot start and what to do about it: no worker polls the pool, or the
 * pool is paused. Shown on a run that waits, and on the deployments of such a pool.
 */
export function PoolWaitingBanner({ pool, reason }: { pool: string; reason: RunWaitingFor }) {
  if (reason === 'pool_paused') {
    return (
      <Notice kind="warning" testId="pool-waiting-banner">
        Work pool <strong>{pool}</strong> is paused: its runs wait until it is resumed (<code>outpost pools resume {pool}</code>).
      </Notice>
    );
  }
  return (
    <Notice kind="warning" testId="pool-waiting-banner">
      No worker is polling work pool <strong>{pool}</strong>, so its runs cannot start. Start one inside your network:{' '}
      <code>outpost worker start --pool {pool}</code> (with <code>OUTPOST_API_URL</code> and a worker key in{' '}
      <code>OUTPOST_API_KEY</code>).
    </Notice>
  );
}
