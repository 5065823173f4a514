import type { LogLevel, LogLine } from '@outpost/sdk/contracts';
import { useDeferredValue, useMemo, useRef, useState } from 'react';
import { LogLineRow } from '../components/log-line-row.js';
import { Notice } from '../components/notice.js';
import { VirtualList } from '../components/virtual-list.js';
import { useLogTail } from '../hooks/use-log-tail.js';
import { pluralise } from '../lib/format.js';
import { LOG_LEVELS, LogView } from '../lib/log-store.js';

const LINE_HEIGHT = 20;

export function RunLogs({ runId, live }: { runId: string; live: boolean }) {
  const tail = useLogTail(runId, live);
  const [minLevel, setMinLevel] = useState<LogLevel>('debug');
  const [query, setQuery] = useState('');
  const deferredQuery = useDeferredValue(query);
  const [selected, setSelected] = useState<LogLine | null>(null);
  const [jump, setJump] = useState<{ index: number; request: number } | null>(null);
  const viewRef = useRef<LogView | null>(null);
  if (!viewRef.current) viewRef.current = new LogView(tail.store);
  const view = viewRef.current;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the store's version says new lines arrived
  const matchCount = useMemo(() => {
    const current = view.current;
    if (current.minLevel !== minLevel || current.query !== deferredQuery) view.setFilter({ minLevel, query: deferredQuery });
    else view.refresh();
    return view.length;
  }, [tail.version, minLevel, deferredQuery, view]);

  const filterKey = `${minLevel}|${deferredQuery}`;
  // biome-ignore lint/correctness/useExhaustiveDependencies: recomputed as lines arrive or the filter changes
  const failure = useMemo(() => view.firstFailure(), [matchCount, tail.version, filterKey, view]);
  const jumpToFailure = () => {
    if (failure === null) return;
    setJump((j) => ({ index: failure, request: (j?.request ?? 0) + 1 }));
    const line = view.at(failure);
    if (line) setSelected(line);
  };
  return (
    <section className="panel logs-panel" aria-label="Logs">
      <div className="panel-header">
        <h2>Logs</h2>
        <div className="log-tools">
          <select
            value={minLevel}
            onChange={(e) => setMinLevel(e.target.value as LogLevel)}
            aria-label="Minimum level"
            data-testid="log-level"
          >
            {LOG_LEVELS.map((l) => (
              <option key={l} value={l}>
                {l === 'debug' ? 'All levels' : `${l} and above`}
              </option>
            ))}
          </select>
          <input
            type="search"
            placeholder="Search logs"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            aria-label="Search logs"
            data-testid="log-search"
          />
          <span className="muted small" data-testid="log-count">
            {matchCount === tail.store.size
              ? pluralise(tail.store.size, 'line')
              : `${matchCount.toLocaleString()} of ${pluralise(tail.store.size, 'line')}`}
          </span>
          {failure !== null && (
            <button type="button" className="button small" onClick={jumpToFailure} data-testid="log-jump-failure">
              Jump to failure
            </button>
          )}
          {live && (
            <span className="live live-live small">
              <span className="live-dot" aria-hidden="true" />
              Following
            </span>
          )}
        </div>
      </div>
      {tail.error && <Notice>{tail.error}</Notice>}
      {tail.store.size === 0 ? (
        <div className="log-empty muted" data-testid="log-empty">
          {tail.caughtUp ? (live ? 'Waiting for logs…' : 'This run wrote no logs.') : 'Loading logs…'}
        </div>
      ) : (
        <VirtualList
          count={matchCount}
          rowHeight={LINE_HEIGHT}
          followTail
          resetKey={filterKey}
          className="log-lines"
          testId="log-lines"
          overscan={30}
          scrollTo={jump}
          renderRow={(i) => {
            const line = view.at(i);
            if (!line) return null;
            return (
              <LogLineRow
                key={`${line.attempt}:${line.seq}`}
                line={line}
                query={deferredQuery}
                selected={selected === line}
                onSelect={setSelected}
                startsAttempt={view.startsAttempt(i)}
              />
            );
          }}
        />
      )}
      {selected && (
        <div className="log-detail" data-testid="log-line-detail">
          <div className="log-detail-head">
            <span className="muted small">
              attempt {selected.attempt} · #{selected.seq} · {selected.stream}
              {selected.taskName ? ` · task ${selected.taskName}` : ''} · {selected.timestamp}
            </span>
            <button type="button" className="icon-button" onClick={() => setSelected(null)} aria-label="Close line">
              ×
            </button>
          </div>
          <pre>{selected.message}</pre>
        </div>
      )}
    </section>
  );
}
