import { type EventResource, OutpostEvent } from '@outpost/sdk/contracts';
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { EVENTS_PAGE_SIZE } from '../api/first-reads.js';
import { api } from '../api/instance.js';
import type { LiveStatus } from '../api/run-events.js';
import { TextInput } from '../components/form-field.js';
import { JsonView } from '../components/json-view.js';
import { LiveIndicator } from '../components/live-indicator.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import { formatDateTime } from '../lib/format.js';
import { assetPath, href, navigate } from '../router.js';

/** The most events the live table keeps; older ones are a page reload (or the CLI) away. */
const MAX_ROWS = 500;
const POLL_MS = 5000;
const CLOSED = 2;

interface EventFilters {
  kind: string;
  resourceId: string;
  /** Also internal bookkeeping (the worker protocol's audit events), which the API leaves out unless asked. */
  internal: boolean;
}

function filtersFrom(search: URLSearchParams): EventFilters {
  return {
    kind: search.get('kind') ?? '',
    resourceId: search.get('resourceId') ?? '',
    internal: search.get('internal') === 'true',
  };
}

/** The page's search parameters for these filters (empty ones left out). */
function searchFor(f: EventFilters): Record<string, string> {
  const next: Record<string, string> = {};
  if (f.kind.trim()) next.kind = f.kind.trim();
  if (f.resourceId.trim()) next.resourceId = f.resourceId.trim();
  if (f.internal) next.internal = 'true';
  return next;
}

/** The dashboard page of a resource, when it has one. */
export function resourceHref(resource: EventResource): string | null {
  switch (resource.kind) {
    case 'flow-run':
      return href(`/runs/${encodeURIComponent(resource.id)}`);
    case 'deployment':
      return href('/deployments');
    case 'asset':
      return href(assetPath(resource.id));
    default:
      return null;
  }
}

/** Newest first by ledger order, each event once: the stream may repeat what the list already read. */
function merge(current: OutpostEvent[], incoming: OutpostEvent[]): OutpostEvent[] {
  const seen = new Set(current.map((e) => e.id));
  const fresh = incoming.filter((e) => !seen.has(e.id));
  if (fresh.length === 0) return current;
  return [...fresh, ...current].sort((a, b) => compareSeq(b.seq, a.seq)).slice(0, MAX_ROWS);
}

function compareSeq(a: string, b: string): number {
  return a.length === b.length ? a.localeCompare(b) : a.length - b.length;
}

/** The event ledger, newest first, following the live stream: new events appear at the top as they are committed. */
export function EventsPage({ search }: { search: URLSearchParams }) {
  const searchText = search.toString();
  const [filters, setFilters] = useState(() => filtersFrom(search));
  const [events, setEvents] = useState<OutpostEvent[]>([]);
  const [loaded, setLoaded] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [live, setLive] = useState<LiveStatus>('connecting');
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const eventsRef = useRef(events);
  eventsRef.current = events;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the text is the identity of the search
  useEffect(() => setFilters(filtersFrom(search)), [searchText]);
  const applied = filtersFrom(search);
  const kind = applied.kind.trim();
  const resourceId = applied.resourceId.trim();
  const internal = applied.internal ? ('true' as const) : undefined;

  const read = useCallback(
    async (replace: boolean) => {
      const result = await api.call('eventsList', {
        query: { kind: kind || undefined, resourceId: resourceId || undefined, internal, limit: EVENTS_PAGE_SIZE },
      });
      if (!result.ok) {
        setError(describeFailure(result));
        return undefined;
      }
      setError(null);
      setEvents((current) => (replace ? result.data.items : merge(current, result.data.items)));
      setLoaded(true);
      return result.data.items[0]?.seq;
    },
    [kind, resourceId, internal],
  );

  // One read of the newest page, then the stream from the newest event read: nothing committed in
  // between is missed, and a browser reconnect resumes from the last event it saw (Last-Event-ID).
  useEffect(() => {
    let stopped = false;
    let source: EventSource | null = null;
    let retry: ReturnType<typeof setTimeout> | null = null;
    setEvents([]);
    setLoaded(false);
    setLive('connecting');

    const connect = (afterSeq: string | undefined) => {
      if (stopped) return;
      const es = new EventSource(
        api.url('eventsStream', {
          query: { kind: kind || undefined, resourceId: resourceId || undefined, internal, afterSeq },
        }),
        { withCredentials: true },
      );
      source = es;
      es.onopen = () => {
        if (!stopped && source === es) setLive('live');
      };
      es.onmessage = (message: MessageEvent) => {
        if (stopped || source !== es) return;
        let json: unknown;
        try {
          json = JSON.parse(String(message.data));
        } catch {
          return;
        }
        const parsed = OutpostEvent.safeParse(json);
        if (parsed.success) setEvents((current) => merge(current, [parsed.data]));
      };
      es.onerror = () => {
        if (stopped || source !== es) return;
        setLive('polling');
        // CONNECTING: the browser retries by itself. CLOSED (an HTTP error): re-read, then reopen.
        if (es.readyState === CLOSED) {
          es.close();
          source = null;
          retry = setTimeout(async () => {
            retry = null;
            await read(false);
            connect(eventsRef.current[0]?.seq);
          }, POLL_MS);
        }
      };
    };

    void read(true).then((newest) => connect(newest));
    return () => {
      stopped = true;
      if (retry) clearTimeout(retry);
      source?.close();
      source = null;
    };
  }, [read, kind, resourceId, internal]);

  const apply = (e: FormEvent) => {
    e.preventDefault();
    navigate('/events', searchFor(filters), { replace: true });
  };

  // The toggle applies at once, with the filters as they were last applied.
  const showInternal = (on: boolean) => navigate('/events', searchFor({ ...applied, internal: on }), { replace: true });

  const toggle = (id: string) =>
    setOpen((current) => {
      const next = new Set(current);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });

  return (
    <div className="page" data-testid="events-page">
      <div className="page-header">
        <h1>Events</h1>
        <LiveIndicator status={live} />
        <span className="muted" data-testid="events-count">
          {loaded ? `${events.length} shown` : ''}
        </span>
      </div>
      <form className="inline-form" onSubmit={apply} data-testid="events-filter">
        <TextInput
          placeholder="Kind, e.g. flow-run.* or model.metrics"
          className="wide-input"
          value={filters.kind}
          onChange={(value) => setFilters({ ...filters, kind: value })}
          aria-label="Kind"
          testId="events-kind"
        />
        <TextInput
          placeholder="Resource id"
          className="wide-input"
          value={filters.resourceId}
          onChange={(value) => setFilters({ ...filters, resourceId: value })}
          aria-label="Resource id"
          testId="events-resource"
        />
        <button type="submit" className="button" data-testid="events-apply">
          Filter
        </button>
        <label className="field-inline" title="Audit events of the worker protocol, such as audit.pool-runs-adopt">
          <input
            type="checkbox"
            checked={applied.internal}
            onChange={(e) => showInternal(e.target.checked)}
            data-testid="events-internal"
          />{' '}
          Show internal events
        </label>
      </form>
      {error && <Notice>{error}</Notice>}
      <section className="panel" aria-label="Events">
        {loaded && events.length === 0 ? (
          <Empty>No events match these filters.</Empty>
        ) : (
          <table className="grid-table compact" data-testid="events-table">
            <TableHead columns={['Time', 'Kind', 'Resource', 'Source', { hidden: 'Payload' }]} />
            <tbody>
              {events.map((event) => (
                <EventRow key={event.id} event={event} open={open.has(event.id)} onToggle={() => toggle(event.id)} />
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}

function EventRow({ event, open, onToggle }: { event: OutpostEvent; open: boolean; onToggle: () => void }) {
  const link = resourceHref(event.resource);
  const label = event.resource.name || event.resource.id;
  return (
    <>
      <tr data-testid="event-row" data-event-id={event.id} data-kind={event.kind}>
        <td title={event.receivedAt}>{formatDateTime(event.occurredAt)}</td>
        <td>
          <code data-testid="event-kind">{event.kind}</code>
        </td>
        <td>
          <span className="muted small">{event.resource.kind}</span>{' '}
          {link ? (
            <a href={link} data-testid="event-resource-link">
              {label}
            </a>
          ) : (
            <span data-testid="event-resource">{label}</span>
          )}
        </td>
        <td>{event.source}</td>
        <td className="num">
          <button
            type="button"
            className="button button-quiet"
            aria-expanded={open}
            onClick={onToggle}
            data-testid="event-toggle"
          >
            {open ? 'Hide payload' : 'Payload'}
          </button>
        </td>
      </tr>
      {open && (
        <tr data-testid="event-detail">
          <td colSpan={5}>
            <JsonView value={{ payload: event.payload, related: event.related, id: event.id }} testId="event-payload" />
          </td>
        </tr>
      )}
    </>
  );
}
