-- Ledger readers compare snapshots instead of reading below the oldest running transaction
-- (db/events.ts readLedger), so one session idle in a transaction no longer holds back every
-- automation and wait. A cursor is now the snapshot every read event was visible in (snap_from),
-- the snapshot of the window being read (snap_to), and the last event read in it (txid, seq).
-- An existing cursor (txid, seq) had read every event below it in (txid, seq) order, and nothing
-- of a transaction at or above its txid except that transaction's events up to seq: as a snapshot,
-- every transaction below txid is visible and none from it on; the window is what is visible now,
-- read up to (txid, seq). Nothing is read twice or skipped.
ALTER TABLE "automation_cursor" ADD COLUMN "snap_from" pg_snapshot DEFAULT '1:1:' NOT NULL;
--> statement-breakpoint
ALTER TABLE "automation_cursor" ADD COLUMN "snap_to" pg_snapshot;
--> statement-breakpoint
UPDATE "automation_cursor"
SET "snap_from" = (greatest("txid", '1'::xid8)::text || ':' || greatest("txid", '1'::xid8)::text || ':')::pg_snapshot,
    "snap_to" = pg_current_snapshot();
--> statement-breakpoint
ALTER TABLE "wait_event_cursor" ADD COLUMN "snap_from" pg_snapshot DEFAULT '1:1:' NOT NULL;
--> statement-breakpoint
ALTER TABLE "wait_event_cursor" ADD COLUMN "snap_to" pg_snapshot;
--> statement-breakpoint
UPDATE "wait_event_cursor"
SET "snap_from" = (greatest("txid", '1'::xid8)::text || ':' || greatest("txid", '1'::xid8)::text || ':')::pg_snapshot,
    "snap_to" = pg_current_snapshot();
