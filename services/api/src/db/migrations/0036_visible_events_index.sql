-- The events list and the live stream leave out internal bookkeeping (INTERNAL_EVENT_KINDS in
-- sdk/src/contracts/event-ledger.ts: the audit events of the worker protocol, one per sensor poll
-- of every worker) unless asked. In a workspace whose ledger is mostly those, newest-first pages
-- on events_workspace_idx would read and discard them to find a page of the rest; this index
-- holds only the rest, so a page reads what it returns. Its predicate is the list the queries
-- write out (db/event-list.ts VISIBLE_EVENTS_SQL); a list changed in code without a migration
-- fails npm run db:check. Building it holds writes to events for as long as it takes (the
-- migration runs in one transaction, as every earlier index did).
CREATE INDEX "events_visible_idx" ON "events" USING btree ("workspace_id", "seq")
  WHERE kind NOT IN ('audit.sensorticksclaim', 'audit.sensortickscomplete', 'audit.poolrunsadopt', 'audit.poolrunssetstates', 'audit.poolrunslogswrite');
