import type { AuditEntry } from '@outpost/sdk/contracts';
import { type FormEvent, useCallback, useEffect, useRef, useState } from 'react';
import { describeFailure } from '../api/client.js';
import { api } from '../api/instance.js';
import { TextInput } from '../components/form-field.js';
import { LoadMore } from '../components/load-more.js';
import { Empty, Notice } from '../components/notice.js';
import { TableHead } from '../components/table-head.js';
import {
  type AuditFilterForm,
  appendAuditPage,
  auditActor,
  auditOutcome,
  auditQuery,
  auditTarget,
  EMPTY_AUDIT_FILTERS,
} from '../lib/audit-log.js';
import { formatDateTime } from '../lib/format.js';

const PAGE_SIZE = 50;

interface Listing {
  items: AuditEntry[];
  nextCursor: string | null;
  loading: boolean;
  error: string | null;
}

/** Audited calls, newest first, read page by page with the keyset cursor. Owners and admins only. */
export function AuditLogSection() {
  const [form, setForm] = useState<AuditFilterForm>(EMPTY_AUDIT_FILTERS);
  const [applied, setApplied] = useState<AuditFilterForm>(EMPTY_AUDIT_FILTERS);
  const [listing, setListing] = useState<Listing>({ items: [], nextCursor: null, loading: true, error: null });
  const controller = useRef<AbortController | null>(null);

  const load = useCallback(async (filters: AuditFilterForm, cursor: string | null) => {
    controller.current?.abort();
    const current = new AbortController();
    controller.current = current;
    setListing((l) => ({ ...l, loading: true, error: null }));
    const result = await api.call('auditLogList', {
      query: { ...auditQuery(filters), limit: PAGE_SIZE, ...(cursor ? { cursor } : {}) },
      signal: current.signal,
    });
    if (current.signal.aborted) return;
    if (!result.ok) {
      setListing((l) => ({ ...l, loading: false, error: describeFailure(result) }));
      return;
    }
    setListing((l) => ({
      items: cursor ? appendAuditPage(l.items, result.data.items) : result.data.items,
      nextCursor: result.data.nextCursor,
      loading: false,
      error: null,
    }));
  }, []);

  useEffect(() => {
    void load(applied, null);
    return () => controller.current?.abort();
  }, [applied, load]);

  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    setApplied(form);
  };
  const set = <K extends keyof AuditFilterForm>(key: K, value: AuditFilterForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const exportHref = api.url('auditLogExport', { query: auditQuery(applied) });

  return (
    <section className="panel" aria-label="Audit log">
      <div className="panel-header">
        <h2>Audit log</h2>
        <a className="button" href={exportHref} download="audit-log.ndjson" data-testid="audit-export">
          Export NDJSON
        </a>
      </div>
      <form className="inline-form" onSubmit={onSubmit} data-testid="audit-filters">
        <TextInput
          placeholder="Action, e.g. membersAdd"
          value={form.action}
          maxLength={100}
          onChange={(value) => set('action', value)}
          aria-label="Action"
          testId="audit-filter-action"
        />
        <TextInput
          placeholder="Actor id"
          value={form.actorId}
          onChange={(value) => set('actorId', value)}
          aria-label="Actor id"
          testId="audit-filter-actor"
        />
        <TextInput
          placeholder="Object id"
          value={form.objectId}
          maxLength={200}
          onChange={(value) => set('objectId', value)}
          aria-label="Object id"
          testId="audit-filter-object"
        />
        <select
          value={form.outcome}
          onChange={(e) => set('outcome', e.target.value as AuditFilterForm['outcome'])}
          aria-label="Outcome"
          data-testid="audit-filter-outcome"
        >
          <option value="">any outcome</option>
          <option value="success">success</option>
          <option value="failure">failure</option>
        </select>
        <label className="field-inline">
          <span className="field-label">since</span>
          <input type="datetime-local" value={form.since} onChange={(e) => set('since', e.target.value)} />
        </label>
        <label className="field-inline">
          <span className="field-label">until</span>
          <input type="datetime-local" value={form.until} onChange={(e) => set('until', e.target.value)} />
        </label>
        <button type="submit" className="button" data-testid="audit-filter-apply">
          Apply
        </button>
        <button
          type="button"
          className="button button-quiet"
          onClick={() => {
            setForm(EMPTY_AUDIT_FILTERS);
            setApplied(EMPTY_AUDIT_FILTERS);
          }}
        >
          Clear
        </button>
      </form>
      {listing.error && <Notice>{listing.error}</Notice>}
      {!listing.loading && !listing.error && listing.items.length === 0 && <Empty>No audited calls match.</Empty>}
      {listing.items.length > 0 && (
        <table className="grid-table" data-testid="audit-table">
          <TableHead columns={['Time', 'Actor', 'Action', 'Target', 'Outcome']} />
          <tbody>
            {listing.items.map((entry) => {
              const outcome = auditOutcome(entry);
              return (
                <tr
                  key={entry.id}
                  data-testid="audit-row"
                  data-entry-id={entry.id}
                  data-action={entry.action}
                  data-outcome={outcome}
                >
                  <td>{formatDateTime(entry.occurredAt)}</td>
                  <td>{auditActor(entry)}</td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td className="muted small">{auditTarget(entry)}</td>
                  <td>
                    <span className={`pill ${outcome === 'success' ? 'pill-online' : 'pill-offline'}`}>
                      {outcome} · {entry.status}
                    </span>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <LoadMore list={listing} onMore={() => void load(applied, listing.nextCursor)} label="Load more" testId="audit-more" />
    </section>
  );
}
