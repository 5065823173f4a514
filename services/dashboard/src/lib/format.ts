import { formatDuration } from '@outpost/sdk/contracts';

// The CLI prints durations the same way.
export { formatDuration };

/** Duration between two timestamps; an open end runs to `now`. */
export function spanMs(start: string | null, end: string | null, now: number): number | null {
  if (!start) return null;
  const from = Date.parse(start);
  const to = end ? Date.parse(end) : now;
  return Number.isNaN(from) || Number.isNaN(to) ? null : Math.max(0, to - from);
}

// 24-hour times everywhere: operators compare them across logs, states and runs
const dayAndTime = {
  month: 'short',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
} as const;
const dateTime = new Intl.DateTimeFormat(undefined, { year: 'numeric', ...dayAndTime });
const dateTimeThisYear = new Intl.DateTimeFormat(undefined, dayAndTime);

/** A full timestamp; the year is left out for this year's dates. */
export function formatDateTime(iso: string | null): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  return new Date(t).getFullYear() === new Date().getFullYear() ? dateTimeThisYear.format(t) : dateTime.format(t);
}

/** Time of day with milliseconds (HH:MM:SS.mmm, local time), for log lines. */
export function formatLogTime(iso: string): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const d = new Date(t);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

/** "3m ago", "in 2h". */
export function formatRelative(iso: string | null, now: number): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const diff = now - t;
  const text = formatDuration(Math.abs(diff)).split(' ')[0] ?? '';
  if (Math.abs(diff) < 1000) return 'just now';
  return diff >= 0 ? `${text} ago` : `in ${text}`;
}

/**
 * A source reference short enough for a table: registry path kept, digest or commit cut to 12.
 * `oci://reg:5000/acme/flows@sha256:0123…` → `reg:5000/acme/flows@sha256:0123456789ab`.
 */
export function shortSource(source: string): string {
  // Only the scheme goes: `oci-layout:///srv/images/x@…` keeps its leading `/` (an absolute path).
  const oci = /^oci(?:-layout)?:\/\/(.*)@sha256:([a-f0-9]{64})$/.exec(source);
  if (oci) return `${oci[1]}@sha256:${oci[2]?.slice(0, 12)}`;
  const git = /^git\+[a-z]+:\/\/(.*)#([a-f0-9]{40})$/.exec(source);
  if (git) return `${git[1]}#${git[2]?.slice(0, 12)}`;
  return source.replace(/^dir:\/\//, '');
}

/** The word for `n` of a thing: `singular` for exactly one, else `plural` (by default `singular` + "s"). */
export function pluralWord(n: number, singular: string, plural = `${singular}s`): string {
  return n === 1 ? singular : plural;
}

/** A count and its word, the one way the dashboard says how many: "1 automation", "2 automations", "1,204 runs". */
export function pluralise(n: number, singular: string, plural?: string): string {
  return `${n.toLocaleString()} ${pluralWord(n, singular, plural)}`;
}

/**
 * A run's running time: the sum of its attempts' spans from start to end (an open one to `now`),
 * so the wait between a failed attempt and its retry is not counted. Prefect's flow-run duration
 * (`total_run_time`) counts only time spent Running for the same reason. Null when no attempt has
 * started.
 */
export function runningTimeMs(
  attempts: readonly { startedAt: string | null; endedAt: string | null }[],
  now: number,
): number | null {
  let total: number | null = null;
  for (const a of attempts) {
    const span = spanMs(a.startedAt, a.endedAt, now);
    if (span !== null) total = (total ?? 0) + span;
  }
  return total;
}

/** A deployment as people name it: `flow/name` (names repeat across flows, so the name alone is ambiguous). */
export function deploymentLabel(flowName: string, name: string): string {
  return `${flowName}/${name}`;
}
