import type { LogLevel, LogLine } from '@outpost/sdk/contracts';
import { useMemo, useRef, useState } from 'react';
import { TextInput } from '../components/form-field.js';
import { LogLineRow } from '../components/log-line-row.js';
import { Notice } from '../components/notice.js';
import { Options } from '../components/options.js';
import { VirtualList } from '../components/virtual-list.js';
import { useLogSearch } from '../hooks/use-log-search.js';
import { useLogTail } from '../hooks/use-log-tail.js';
import { pluralise } from '../lib/format.js';
import { LOG_LEVELS, LogStore, LogView } from '../lib/log-store.js';

const LINE_HEIGHT = 20;
/** Rows from the end of the matches shown at which scrolling reads on. */
const READ_ON_ROWS = 100;
const NO_MATCHES = new LogStore();

/**
 * A run's log: the whole log, tailed while the run is live, filtered by level in the page; or, with
 * text in the search box, the lines the server finds for it (see useLogSearch).
 */
export function RunLogs({ runId, live }: { runId: string; live: boolean }) {
  const tail = useLogTail(runId, live);
  const [minLevel, setMinLevel] = useState<LogLevel>('debug');
  const [query, setQuery] = useState('');
  const search = useLogSearch(runId, query, minLevel, live);
  const searching = query !== '';
  const [selected, setSelected] = useState<LogLine | null>(null);
  const [jump, setJump] = useState<{ index: number; request: number } | null>(null);
  const tailViewRef = useRef<LogView | null>(null);
  if (!tailViewRef.current) tailViewRef.current = new LogView(tail.store);
  const searchStore = search.store ?? NO_MATCHES;
  const searchView = useMemo(() => new LogView(searchStore), [searchStore]);
  const view = searching ? searchView : tailViewRef.current;
  const version = searching ? search.version : tail.version;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the version says new lines arrived
  const matchCount = useMemo(() => {
    if (view.current.minLevel !== minLevel) view.setFilter({ minLevel, query: '' });
    else view.refresh();
    return view.length;
  }, [version, minLevel, view]);

  const filterKey = searching ? `search|${minLevel}|${search.text}` : minLevel;
  // biome-ignore lint/correctness/useExhaustiveDependencies: recomputed as lines arrive or the filter changes
  const failure = useMemo(() => view.firstFailure(), [matchCount, version, filterKey, view]);
  const jumpToFailure = () => {
    if (failure === null) return;
    setJump((j) => ({ index: failure, request: (j?.request ?? 0) + 1 }));
    const line = view.at(failure);
    if (line) setSelected(line);
  };
  const readOnNear = (_first: number, last: number) => {
    if (searching && search.status === 'paused' && last >= matchCount - READ_ON_ROWS) search.loadMore();
  };
  const highlighted = searching ? search.text : '';
  const error = searching ? search.error : tail.error;
  const empty = searching ? matchCount === 0 : tail.store.size === 0;
  return (
    <section className="panel logs-panel" aria-label="Logs" id="run-logs" tabIndex={-1}>
      <div className="panel-header">
        <h2>Logs</h2>
        <div className="log-tools">
          <select
            value={minLevel}
            onChange={(e) => setMinLevel(e.target.value as LogLevel)}
            aria-label="Minimum level"
            data-testid="log-level"
          >
            <Options values={LOG_LEVELS} label={(l) => (l === 'debug' ? 'All levels' : `${l} and above`)} />
          </select>
          <TextInput
            type="search"
            placeholder="Search logs"
            value={query}
            onChange={setQuery}
            aria-label="Search logs"
            testId="log-search"
            maxLength={200}
          />
          <span className="muted small" data-testid="log-count" aria-live="polite">
            {searching
              ? `${pluralise(matchCount, 'matching line')}${search.status === 'searching' ? ', searching…' : ''}`
              : matchCount === tail.store.size
                ? pluralise(tail.store.size, 'line')
                : `${matchCount.toLocaleString()} of ${pluralise(tail.store.size, 'line')}`}
          </span>
          {searching && search.status === 'paused' && (
            <button type="button" className="button small" onClick={search.loadMore} data-testid="log-search-more">
              More matches
            </button>
          )}
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
      {error && <Notice>{error}</Notice>}
      {empty ? (
        <div className="log-empty muted" data-testid="log-empty">
          {searching
            ? search.status === 'done' || search.status === 'paused'
              ? `No lines${minLevel === 'debug' ? '' : ` at ${minLevel} and above`} match “${search.text}”.`
              : 'Searching…'
            : tail.caughtUp
              ? live
                ? 'Waiting for logs…'
                : 'This run wrote no logs.'
              : 'Loading logs…'}
        </div>
      ) : (
        <VirtualList
          count={matchCount}
          rowHeight={LINE_HEIGHT}
          followTail={!searching}
          resetKey={filterKey}
          className="log-lines"
          testId="log-lines"
          overscan={30}
          scrollTo={jump}
          onRangeChange={readOnNear}
          renderRow={(i) => {
            const line = view.at(i);
            if (!line) return null;
            return (
              <LogLineRow
                key={`${line.attempt}:${line.seq}`}
                line={line}
                query={highlighted}
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
