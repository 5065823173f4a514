import type { LiveStatus } from '../api/run-events.js';

const TEXT: Record<LiveStatus, string> = {
  connecting: 'Connecting…',
  live: 'Live',
  polling: 'Refreshing every 5 s',
  stopped: 'Paused',
};

export function LiveIndicator({ status }: { status: LiveStatus }) {
  return (
    <span className={`live live-${status}`} data-testid="live-status" data-status={status}>
      <span className="live-dot" aria-hidden="true" />
      {TEXT[status]}
    </span>
  );
}
