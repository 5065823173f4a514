-- The event ledger moves to a table partitioned by month of `received_at`, so retention removes a
-- month of events at once (detached in milliseconds, then dropped: no dead rows, no vacuum) where it
-- used to delete them a few thousand at a time. The partition machinery of the logs (0042) becomes
-- general: `log_partitions` is now `table_partitions`, one row a partition with its parent table,
-- and the functions take the parent as an argument.
--
-- An event's id stays unique in its workspace, but a unique index cannot span partitions: the ids
-- move to a narrow table of their own, `event_ids`, which the ingest statement (db/events.ts) fills
-- first, storing only the events whose id was new. It keeps each id's `received_at`, so retention
-- removes the ids of the months it dropped by a range of its index. The key of `events` becomes
-- (seq, received_at), as a partitioned table's key must hold its partition key.
--
-- The existing table becomes the first partition, `events_history`, holding every event up to the
-- end of the month the migration runs in (or of its latest event, if a clock ran ahead). Attaching
-- it reads it once and builds its new key; the id index becomes `event_ids`, filled from it. The
-- ledger is not rewritten, but read twice, with one narrow row written an event: about 6 s a
-- million events (test/bench/event-retention.ts), once.
ALTER TABLE "log_partitions" RENAME TO "table_partitions";--> statement-breakpoint
ALTER TABLE "table_partitions" RENAME CONSTRAINT "log_partitions_pkey" TO "table_partitions_pkey";--> statement-breakpoint
ALTER TABLE "table_partitions" ADD COLUMN "parent" text DEFAULT 'logs' NOT NULL;--> statement-breakpoint
ALTER TABLE "table_partitions" ALTER COLUMN "parent" DROP DEFAULT;--> statement-breakpoint
DROP FUNCTION ensure_log_partitions(integer);--> statement-breakpoint
DROP FUNCTION detach_oldest_log_partition(timestamptz);--> statement-breakpoint
DROP FUNCTION drop_detached_log_partitions();--> statement-breakpoint
-- The first instant of the UTC month `at` falls in, whatever the session's time zone.
CREATE FUNCTION partition_start(at timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
  SELECT date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
$$;--> statement-breakpoint
-- Makes the monthly partitions of `parent` up to `months_ahead` months past the current one, named
-- `<parent>_YYYY_MM`; returns how many it made. Serialised by an advisory lock per parent, so
-- replicas starting together make each month once.
CREATE FUNCTION ensure_partitions(parent text, months_ahead integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  target timestamptz :=
    ((partition_start(now()) AT TIME ZONE 'UTC') + make_interval(months => months_ahead + 1)) AT TIME ZONE 'UTC';
  starts timestamptz;
  ends timestamptz;
  part text;
  made integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('outpost: partitions of ' || parent));
  SELECT max(p.ends) INTO starts FROM table_partitions p WHERE p.parent = ensure_partitions.parent;
  IF starts IS NULL THEN
    RAISE EXCEPTION 'table % has no partitions listed in table_partitions', parent;
  END IF;
  WHILE starts < target LOOP
    ends := ((starts AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    part := parent || '_' || to_char(starts AT TIME ZONE 'UTC', 'YYYY_MM');
    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)', part, parent, starts, ends);
    INSERT INTO table_partitions (name, parent, starts, ends) VALUES (part, parent, starts, ends);
    starts := ends;
    made := made + 1;
  END LOOP;
  RETURN made;
END $$;--> statement-breakpoint
-- Detaches the oldest partition of `parent` if every row it can hold is before `before`; returns its
-- name, or null when there is none. Detaching is a catalog change (milliseconds) but takes an
-- exclusive lock on the parent: one partition a call, so the caller can bound its lock wait
-- (lock_timeout) and a long reader delays retention rather than every writer queued behind it. The
-- detached table stays listed (`detached`) until `drop_detached_partitions` removes its files,
-- which takes no lock on the parent.
CREATE FUNCTION detach_oldest_partition(parent text, before timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  part text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('outpost: partitions of ' || parent));
  SELECT p.name INTO part FROM table_partitions p
  WHERE p.parent = detach_oldest_partition.parent AND NOT p.detached AND p.ends <= before
    -- The newest partition always stays, so the months ahead have a start to be made from.
    AND p.ends < (SELECT max(q.ends) FROM table_partitions q WHERE q.parent = detach_oldest_partition.parent)
  ORDER BY p.ends LIMIT 1;
  IF part IS NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, part);
  UPDATE table_partitions SET detached = true WHERE name = part;
  RETURN part;
END $$;--> statement-breakpoint
-- Drops the partitions detached by retention, of every parent (their files go: about half a second
-- a gigabyte), and returns their names.
CREATE FUNCTION drop_detached_partitions() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  part text;
BEGIN
  FOR part IN SELECT p.name FROM table_partitions p WHERE p.detached ORDER BY p.ends LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I', part);
    DELETE FROM table_partitions WHERE name = part;
    RETURN NEXT part;
  END LOOP;
END $$;--> statement-breakpoint
ALTER TABLE "events" RENAME TO "events_history";--> statement-breakpoint
ALTER TABLE "events_history" RENAME CONSTRAINT "events_workspace_id_workspaces_id_fk" TO "events_history_workspace_id_fk";--> statement-breakpoint
-- The old key and the unique id index go: the attach gives the partition the new key, and ids are
-- kept unique by `event_ids`. The index retention walked goes too: retention now drops whole
-- months by the partition bounds, and no query reads events by their received time alone.
ALTER TABLE "events_history" DROP CONSTRAINT "events_pkey";--> statement-breakpoint
DROP INDEX "events_id_uq";--> statement-breakpoint
DROP INDEX "events_received_idx";--> statement-breakpoint
-- The history's indexes keep their definitions under names of their own; the attach adopts each as
-- the partition of the parent's matching index rather than building it again.
ALTER INDEX "events_workspace_idx" RENAME TO "events_history_workspace_idx";--> statement-breakpoint
ALTER INDEX "events_kind_idx" RENAME TO "events_history_kind_idx";--> statement-breakpoint
ALTER INDEX "events_visible_idx" RENAME TO "events_history_visible_idx";--> statement-breakpoint
ALTER INDEX "events_resource_idx" RENAME TO "events_history_resource_idx";--> statement-breakpoint
ALTER INDEX "events_related_idx" RENAME TO "events_history_related_idx";--> statement-breakpoint
ALTER INDEX "events_commit_order_idx" RENAME TO "events_history_commit_order_idx";--> statement-breakpoint
-- The triggers move to the parent (they fire for every partition from there; left on the history
-- they would fire a second time for its rows).
DROP TRIGGER "events_append_only" ON "events_history";--> statement-breakpoint
DROP TRIGGER "events_notify" ON "events_history";--> statement-breakpoint
CREATE TABLE "events" (
  "seq" bigint DEFAULT nextval('events_seq_seq'::regclass) NOT NULL,
  "id" uuid DEFAULT gen_random_uuid() NOT NULL,
  "workspace_id" uuid NOT NULL,
  "occurred_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
  "received_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
  "kind" text NOT NULL,
  "resource_kind" text NOT NULL,
  "resource_id" text NOT NULL,
  "resource_name" text,
  "related" jsonb DEFAULT '[]'::jsonb NOT NULL,
  "payload" jsonb DEFAULT '{}'::jsonb NOT NULL,
  "source" text NOT NULL,
  "source_id" text,
  "txid" xid8 DEFAULT pg_current_xact_id() NOT NULL,
  CONSTRAINT "events_seq_received_at_pk" PRIMARY KEY ("seq", "received_at"),
  CONSTRAINT "events_source_ck" CHECK ("source" IN ('system', 'api', 'run', 'webhook', 'sensor'))
) PARTITION BY RANGE ("received_at");--> statement-breakpoint
ALTER SEQUENCE "events_seq_seq" OWNED BY "events"."seq";--> statement-breakpoint
ALTER TABLE "events_history" ALTER COLUMN "seq" DROP DEFAULT;--> statement-breakpoint
ALTER TABLE "events" ADD CONSTRAINT "events_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "events_workspace_idx" ON "events" USING btree ("workspace_id", "seq");--> statement-breakpoint
CREATE INDEX "events_kind_idx" ON "events" USING btree ("workspace_id", "kind", "seq");--> statement-breakpoint
CREATE INDEX "events_visible_idx" ON "events" USING btree ("workspace_id", "seq")
  WHERE kind NOT IN ('audit.sensorticksclaim', 'audit.sensortickscomplete', 'audit.poolrunsadopt', 'audit.poolrunssetstates', 'audit.poolrunslogswrite');--> statement-breakpoint
CREATE INDEX "events_resource_idx" ON "events" USING btree ("workspace_id", "resource_id", "seq");--> statement-breakpoint
CREATE INDEX "events_related_idx" ON "events" USING gin ("related" jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "events_commit_order_idx" ON "events" USING btree ("txid", "seq");--> statement-breakpoint
CREATE TRIGGER "events_append_only" BEFORE UPDATE ON "events" FOR EACH ROW EXECUTE FUNCTION "events_append_only"();--> statement-breakpoint
CREATE TRIGGER "events_notify" AFTER INSERT ON "events" FOR EACH STATEMENT EXECUTE FUNCTION "events_notify"();--> statement-breakpoint
CREATE TABLE "event_ids" (
  "workspace_id" uuid NOT NULL,
  "id" uuid NOT NULL,
  "received_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "event_ids_workspace_id_id_pk" PRIMARY KEY ("workspace_id", "id")
);--> statement-breakpoint
INSERT INTO "event_ids" ("workspace_id", "id", "received_at")
SELECT "workspace_id", "id", "received_at" FROM "events_history";--> statement-breakpoint
CREATE INDEX "event_ids_received_idx" ON "event_ids" USING btree ("received_at");--> statement-breakpoint
DO $$
DECLARE
  bound timestamptz := ((partition_start(now()) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  latest timestamptz;
BEGIN
  SELECT max("received_at") INTO latest FROM events_history;
  IF latest IS NULL THEN
    -- Nothing to keep: the months start with the current one, and the history partition stays
    -- empty until retention drops it.
    bound := partition_start(now());
  ELSIF latest >= bound THEN
    bound := ((partition_start(latest) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  END IF;
  EXECUTE format('ALTER TABLE events ATTACH PARTITION events_history FOR VALUES FROM (MINVALUE) TO (%L)', bound);
  INSERT INTO table_partitions (name, parent, starts, ends) VALUES ('events_history', 'events', '-infinity', bound);
END $$;--> statement-breakpoint
SELECT ensure_partitions('logs', 2);--> statement-breakpoint
SELECT ensure_partitions('events', 2);
