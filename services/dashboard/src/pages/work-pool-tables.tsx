import type { Worker, WorkQueue } from '@outpost/sdk/contracts';
import { Empty } from '../components/notice.js';
import { PausedPill } from '../components/status-pill.js';
import { TableHead } from '../components/table-head.js';
import { formatDateTime, formatRelative } from '../lib/format.js';
import { href } from '../router.js';
import { GpuDevices } from './work-pool-gpus.js';

/**
 * Edit and Pause/Resume of a pool or a queue, each naming it for a screen reader; test ids are `what`
 * with `-edit` and `-toggle-pause`. `small` for a table row.
 */
export function EditAndPauseButtons({
  what,
  name,
  paused,
  busy,
  small = false,
  onEdit,
  onTogglePause,
}: {
  what: 'pool' | 'queue';
  name: string;
  paused: boolean;
  busy: boolean;
  small?: boolean;
  onEdit: () => void;
  onTogglePause: () => void;
}) {
  const className = small ? 'button button-small' : 'button';
  const toggle = paused ? 'Resume' : 'Pause';
  return (
    <>
      <button
        type="button"
        className={className}
        onClick={onEdit}
        aria-label={`Edit ${what} ${name}`}
        data-testid={`${what}-edit`}
      >
        Edit
      </button>
      <button
        type="button"
        className={className}
        disabled={busy}
        onClick={onTogglePause}
        aria-label={`${toggle} ${what} ${name}`}
        data-testid={`${what}-toggle-pause`}
      >
        {toggle}
      </button>
    </>
  );
}

/** A pool's queues in claim order; editors get Edit and Pause/Resume on each. */
export function QueueTable({
  queues,
  canEdit,
  busy,
  onEdit,
  onTogglePause,
}: {
  queues: WorkQueue[];
  canEdit: boolean;
  busy: boolean;
  onEdit: (queue: WorkQueue) => void;
  onTogglePause: (queue: WorkQueue) => void;
}) {
  if (queues.length === 0) return <Empty>No queues.</Empty>;
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: focusable, so a keyboard can scroll a table wider than its box
    <section className="table-scroll" aria-label="Queues" tabIndex={0}>
      <table className="grid-table compact" data-testid="queue-table">
        <TableHead
          columns={[
            'Queue',
            { label: 'Priority', className: 'num' },
            { label: 'Limit', className: 'num' },
            'Status',
            canEdit && { hidden: 'Actions' },
          ]}
        />
        <tbody>
          {[...queues]
            .sort((a, b) => a.priority - b.priority || a.name.localeCompare(b.name))
            .map((q) => (
              <tr key={q.id} data-testid="queue-row" data-queue={q.name}>
                <td>{q.name}</td>
                <td className="num">{q.priority}</td>
                <td className="num" data-testid="queue-limit-value">
                  {q.concurrencyLimit ?? '—'}
                </td>
                <td>
                  <PausedPill paused={q.paused} testId="queue-status" />
                </td>
                {canEdit && (
                  <td className="row-actions">
                    <EditAndPauseButtons
                      what="queue"
                      name={q.name}
                      paused={q.paused}
                      busy={busy}
                      small
                      onEdit={() => onEdit(q)}
                      onTogglePause={() => onTogglePause(q)}
                    />
                  </td>
                )}
              </tr>
            ))}
        </tbody>
      </table>
    </section>
  );
}

/** A pool's workers: labels, status, version, the runs each holds now, capacity, GPUs and last heartbeat. */
export function WorkerTable({ workers, now }: { workers: Worker[]; now: number }) {
  if (workers.length === 0) return <Empty>No workers have connected.</Empty>;
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: focusable, so a keyboard can scroll a table wider than its box
    <section className="table-scroll" aria-label="Workers" tabIndex={0}>
      <table className="grid-table compact" data-testid="worker-table">
        <TableHead
          columns={['Worker', 'Status', 'Version', 'Running', { label: 'Capacity', className: 'num' }, 'GPUs', 'Last heartbeat']}
        />
        <tbody>
          {workers.map((w) => (
            <tr key={w.id} data-testid="worker-row" data-worker={w.name}>
              <td>
                <div className="cell-main">
                  <span className="nowrap">{w.name}</span>
                  {Object.keys(w.labels).length > 0 && (
                    <span className="tags" data-testid="worker-labels">
                      {Object.entries(w.labels).map(([k, v]) => (
                        <span key={k} className="tag mono">
                          {k}={v}
                        </span>
                      ))}
                    </span>
                  )}
                </div>
              </td>
              <td>
                <span className={`pill ${w.status === 'ONLINE' ? 'pill-online' : 'pill-offline'}`} data-testid="worker-status">
                  {w.status === 'ONLINE' ? 'Online' : 'Offline'}
                </span>
              </td>
              <td className="mono" data-testid="worker-version">
                {w.version ?? <span className="muted">—</span>}
              </td>
              <td data-testid="worker-runs" data-count={w.runningRuns?.length ?? 0}>
                {(w.runningRuns ?? []).length === 0 ? (
                  <span className="muted">idle</span>
                ) : (
                  <ul className="plain-list">
                    {(w.runningRuns ?? []).map((r) => (
                      <li key={r.id} className="nowrap">
                        <a href={href(`/runs/${r.id}`)} data-testid="worker-run" data-run-id={r.id}>
                          {r.name}
                        </a>{' '}
                        <span className="muted small">
                          {r.stateType.toLowerCase()}
                          {r.attempt > 1 ? ` · attempt ${r.attempt}` : ''}
                        </span>
                      </li>
                    ))}
                  </ul>
                )}
              </td>
              <td className="num">{w.capacity}</td>
              <td>
                <GpuDevices worker={w} />
              </td>
              <td title={formatDateTime(w.lastHeartbeatAt)} data-testid="worker-heartbeat">
                {formatRelative(w.lastHeartbeatAt, now)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
