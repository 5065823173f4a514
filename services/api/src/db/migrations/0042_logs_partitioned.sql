-- Log lines move to a table partitioned by month of the line's own timestamp, so retention removes a
-- month of lines at once (detached in milliseconds, then dropped: no dead rows, no vacuum) where it
-- used to delete them run by run. The timestamp joins the primary key: a retried batch carries the same timestamps, so
-- (flow_run_id, attempt, seq, timestamp) still stores a line once.
--
-- The existing table becomes the first partition, `logs_history`, holding every line up to the end
-- of the month the migration runs in (or of its latest line, if a clock ran ahead). Attaching it
-- reads it once and builds one index on it (the new key), in place of the old key's: on a database
-- with a year of lines this migration takes minutes, once. New lines go to monthly partitions,
-- `logs_YYYY_MM`, made two months ahead (`ensure_log_partitions`, called here, at every server start
-- and by the retention loop), and listed in `log_partitions` with their bounds.
--
-- The per-run marks of the old retention (`retention_marks`) and the index it walked go.
ALTER TABLE "logs" RENAME TO "logs_history";--> statement-breakpoint
ALTER TABLE "logs_history" RENAME CONSTRAINT "logs_workspace_id_workspaces_id_fk" TO "logs_history_workspace_id_fk";--> statement-breakpoint
CREATE TABLE "logs" (
	"flow_run_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"seq" integer NOT NULL,
	"workspace_id" uuid NOT NULL,
	"timestamp" timestamp (3) with time zone NOT NULL,
	"level" text NOT NULL,
	"message" text NOT NULL,
	"task_run_id" uuid,
	"stream" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "logs_flow_run_id_attempt_seq_timestamp_pk" PRIMARY KEY("flow_run_id","attempt","seq","timestamp")
) PARTITION BY RANGE ("timestamp");--> statement-breakpoint
ALTER TABLE "logs" ADD CONSTRAINT "logs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE TABLE "log_partitions" (
	"name" text PRIMARY KEY NOT NULL,
	"starts" timestamp (3) with time zone NOT NULL,
	"ends" timestamp (3) with time zone NOT NULL,
	"detached" boolean DEFAULT false NOT NULL
);--> statement-breakpoint
-- The old key goes: the attach gives the partition the new one (a table has one primary key).
ALTER TABLE "logs_history" DROP CONSTRAINT "logs_flow_run_id_attempt_seq_pk";--> statement-breakpoint
DO $$
DECLARE
  bound timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  latest timestamptz;
BEGIN
  SELECT max("timestamp") INTO latest FROM logs_history;
  IF latest IS NULL THEN
    -- Nothing to keep: the months start with the current one, and the history partition stays for
    -- lines stamped before it (a worker that buffered them through an outage).
    bound := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  ELSIF latest >= bound THEN
    bound := (date_trunc('month', latest AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  END IF;
  EXECUTE format('ALTER TABLE logs ATTACH PARTITION logs_history FOR VALUES FROM (MINVALUE) TO (%L)', bound);
  INSERT INTO log_partitions (name, starts, ends) VALUES ('logs_history', '-infinity', bound);
END $$;--> statement-breakpoint
-- Makes the monthly partitions up to `months_ahead` months past the current one; returns how many it
-- made. Month bounds are computed in UTC whatever the session's time zone. Serialised by an advisory
-- lock, so replicas starting together make each month once.
CREATE FUNCTION ensure_log_partitions(months_ahead integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  target timestamptz :=
    (date_trunc('month', now() AT TIME ZONE 'UTC') + make_interval(months => months_ahead + 1)) AT TIME ZONE 'UTC';
  starts timestamptz;
  ends timestamptz;
  part text;
  made integer := 0;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('outpost: log partitions'));
  SELECT max(p.ends) INTO starts FROM log_partitions p;
  WHILE starts < target LOOP
    ends := ((starts AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    part := 'logs_' || to_char(starts AT TIME ZONE 'UTC', 'YYYY_MM');
    EXECUTE format('CREATE TABLE %I PARTITION OF logs FOR VALUES FROM (%L) TO (%L)', part, starts, ends);
    INSERT INTO log_partitions (name, starts, ends) VALUES (part, starts, ends);
    starts := ends;
    made := made + 1;
  END LOOP;
  RETURN made;
END $$;--> statement-breakpoint
-- Detaches the oldest partition if every line it can hold is stamped before `before`; returns its
-- name, or null when there is none. Detaching is a catalog change (milliseconds) but takes an
-- exclusive lock on `logs`: one partition a call, so the caller can bound its lock wait
-- (lock_timeout) and a long reader delays retention rather than every writer queued behind it. The
-- detached table stays listed (`detached`) until `drop_detached_log_partitions` removes its files,
-- which takes no lock on `logs`.
CREATE FUNCTION detach_oldest_log_partition(before timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  part text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('outpost: log partitions'));
  SELECT p.name INTO part FROM log_partitions p
  WHERE NOT p.detached AND p.ends <= before
    -- The newest partition always stays, so the months ahead have a start to be made from.
    AND p.ends < (SELECT max(q.ends) FROM log_partitions q)
  ORDER BY p.ends LIMIT 1;
  IF part IS NULL THEN
    RETURN NULL;
  END IF;
  EXECUTE format('ALTER TABLE logs DETACH PARTITION %I', part);
  UPDATE log_partitions SET detached = true WHERE name = part;
  RETURN part;
END $$;--> statement-breakpoint
-- Drops the partitions detached by retention (their files go: about half a second a gigabyte) and
-- returns their names.
CREATE FUNCTION drop_detached_log_partitions() RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE
  part text;
BEGIN
  FOR part IN SELECT p.name FROM log_partitions p WHERE p.detached ORDER BY p.ends LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I', part);
    DELETE FROM log_partitions WHERE name = part;
    RETURN NEXT part;
  END LOOP;
END $$;--> statement-breakpoint
SELECT ensure_log_partitions(2);--> statement-breakpoint
DROP TABLE "retention_marks";--> statement-breakpoint
DROP INDEX "flow_runs_ended_idx";
