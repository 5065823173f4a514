import type { LogLine } from '@outpost/sdk/contracts';
import { formatLogTime } from '../lib/format.js';

/** Splits a message around case-insensitive matches of `query`; every piece is rendered as text. */
export function highlight(message: string, query: string) {
  if (!query) return message;
  const lower = message.toLowerCase();
  const q = query.toLowerCase();
  const parts: (string | { mark: string })[] = [];
  let from = 0;
  for (let at = lower.indexOf(q); at >= 0 && parts.length < 40; at = lower.indexOf(q, at + q.length)) {
    if (at > from) parts.push(message.slice(from, at));
    parts.push({ mark: message.slice(at, at + q.length) });
    from = at + q.length;
  }
  parts.push(message.slice(from));
  return parts.map((p, i) =>
    typeof p === 'string' ? (
      p
    ) : (
      // biome-ignore lint/suspicious/noArrayIndexKey: pieces of one immutable line
      <mark key={i}>{p.mark}</mark>
    ),
  );
}

/**
 * A task name split before its partition key (`features:rejected_rows [2026-11-02]`), so a narrow
 * column can cut the name short and keep the key whole; null partition for a name without one.
 */
export function splitTaskName(name: string): { name: string; partition: string | null } {
  const match = /^(.*\S)\s+(\[[^[\]]*\])$/.exec(name);
  return match ? { name: match[1] as string, partition: match[2] as string } : { name, partition: null };
}

/** One log line. Messages come from customer code: they are only ever rendered as text. */
export function LogLineRow({
  line,
  query,
  selected,
  onSelect,
  startsAttempt = false,
}: {
  line: LogLine;
  query: string;
  selected: boolean;
  onSelect: (line: LogLine) => void;
  /** The first line of a later attempt: drawn with a separator naming the attempt. */
  startsAttempt?: boolean;
}) {
  return (
    <div
      className={`log-line level-${line.level}${selected ? ' log-line-selected' : ''}${startsAttempt ? ' log-attempt-start' : ''}`}
      data-testid="log-line"
      data-level={line.level}
      data-attempt={line.attempt}
    >
      <button type="button" className="log-time" onClick={() => onSelect(line)} title="Show the whole line">
        {formatLogTime(line.timestamp)}
      </button>
      {startsAttempt && (
        <span className="log-attempt" data-testid="log-attempt-separator">
          attempt {line.attempt}
        </span>
      )}
      <span className="log-level">{line.level}</span>
      <LogTask name={line.taskName} />
      <span className="log-message">{highlight(line.message, query)}</span>
    </div>
  );
}

/** The line's task: its name cut short with an ellipsis when it must be, its partition key never. */
function LogTask({ name }: { name: string | null | undefined }) {
  if (!name) return <span className="log-task" data-testid="log-task" title="the flow" />;
  const split = splitTaskName(name);
  return (
    <span className="log-task" data-testid="log-task" title={name}>
      <span className="log-task-name">{split.name}</span>
      {split.partition && (
        <span className="log-task-partition" data-testid="log-task-partition">
          {split.partition}
        </span>
      )}
    </span>
  );
}
