-- What each workspace uses, month by month (UTC): runs and task runs created, seconds its runs spent
-- RUNNING on workers, log lines and their bytes, events stored, and the bytes of those rows as
-- stored when written (log messages included).
--
-- The database counts, so every way a row is written is counted the same (the API, schedule fills,
-- child runs, the ledger's own triggers) and a count commits or rolls back with what it counts.
-- Each counting trigger only appends a row to usage_deltas, one per workspace per statement: no
-- counter row is updated on the write path, so writers never wait on each other and cannot
-- deadlock over a count. The usage loop folds the deltas into workspace_usage (one statement that
-- deletes what it adds); a reader adds the deltas not yet folded, so every count is exact at once.
--
-- Months outlive the rows they count: retention dropping last year's logs leaves last year's usage.
CREATE TABLE "workspace_usage" (
	"workspace_id" uuid NOT NULL,
	"month" date NOT NULL,
	"runs" bigint DEFAULT 0 NOT NULL,
	"task_runs" bigint DEFAULT 0 NOT NULL,
	"compute_seconds" double precision DEFAULT 0 NOT NULL,
	"log_lines" bigint DEFAULT 0 NOT NULL,
	"log_bytes" bigint DEFAULT 0 NOT NULL,
	"events" bigint DEFAULT 0 NOT NULL,
	"metadata_bytes" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "workspace_usage_workspace_id_month_pk" PRIMARY KEY("workspace_id","month")
);--> statement-breakpoint
ALTER TABLE "workspace_usage" ADD CONSTRAINT "workspace_usage_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE TABLE "usage_deltas" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"month" date NOT NULL,
	"runs" bigint DEFAULT 0 NOT NULL,
	"task_runs" bigint DEFAULT 0 NOT NULL,
	"compute_seconds" double precision DEFAULT 0 NOT NULL,
	"log_lines" bigint DEFAULT 0 NOT NULL,
	"log_bytes" bigint DEFAULT 0 NOT NULL,
	"events" bigint DEFAULT 0 NOT NULL,
	"metadata_bytes" bigint DEFAULT 0 NOT NULL
);--> statement-breakpoint
CREATE INDEX "usage_deltas_workspace_month_idx" ON "usage_deltas" USING btree ("workspace_id","month");--> statement-breakpoint
-- The month a count belongs to: the one it happened in, in UTC.
CREATE FUNCTION "usage_month"() RETURNS date LANGUAGE sql STABLE AS $$
  SELECT date_trunc('month', now() AT TIME ZONE 'UTC')::date
$$;--> statement-breakpoint
CREATE FUNCTION "usage_count_runs"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_deltas (workspace_id, month, runs, metadata_bytes)
  SELECT workspace_id, usage_month(), count(*), sum(pg_column_size(n)) FROM new_rows n GROUP BY workspace_id;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "flow_runs_usage" AFTER INSERT ON "flow_runs"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_count_runs();--> statement-breakpoint
CREATE FUNCTION "usage_count_task_runs"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_deltas (workspace_id, month, task_runs, metadata_bytes)
  SELECT workspace_id, usage_month(), count(*), sum(pg_column_size(n)) FROM new_rows n GROUP BY workspace_id;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "task_runs_usage" AFTER INSERT ON "task_runs"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_count_task_runs();--> statement-breakpoint
-- A log line's bytes are its message's (UTF-8); metadata bytes are the whole row's, message included.
CREATE FUNCTION "usage_count_logs"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_deltas (workspace_id, month, log_lines, log_bytes, metadata_bytes)
  SELECT workspace_id, usage_month(), count(*), sum(octet_length(message)), sum(pg_column_size(n))
  FROM new_rows n GROUP BY workspace_id;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "logs_usage" AFTER INSERT ON "logs"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_count_logs();--> statement-breakpoint
CREATE FUNCTION "usage_count_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_deltas (workspace_id, month, events, metadata_bytes)
  SELECT workspace_id, usage_month(), count(*), sum(pg_column_size(n)) FROM new_rows n GROUP BY workspace_id;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "events_usage" AFTER INSERT ON "events"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_count_events();--> statement-breakpoint
-- Compute: the time a run spends RUNNING, counted each time its state moves on from RUNNING —
-- to another state (finished, failed, paused, crashed) or to RUNNING under a new name (the flow
-- renamed its state) — from the state the worker reported to that change, in the month of the
-- change. A run the lease loop crashed is counted to its lease's end, not to when the loop noticed.
-- A subflow runs in its parent's process, so its time is the parent's: only runs a worker runs on
-- their own are counted (top-level runs, and deployment runs a flow started).
CREATE FUNCTION "usage_count_compute"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_deltas (workspace_id, month, compute_seconds)
  VALUES (NEW.workspace_id, usage_month(),
          greatest(0, extract(epoch FROM
            least(NEW.state_timestamp, coalesce(OLD.lease_expires_at, NEW.state_timestamp)) - OLD.state_timestamp
          ))::double precision);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "flow_runs_usage_compute" AFTER UPDATE OF "state_type", "state_timestamp" ON "flow_runs"
  FOR EACH ROW WHEN (
    OLD.state_type = 'RUNNING' AND OLD.state_timestamp IS DISTINCT FROM NEW.state_timestamp
    AND (NEW.parent_flow_run_id IS NULL OR NEW.deployment_id IS NOT NULL)
  )
  EXECUTE FUNCTION usage_count_compute();--> statement-breakpoint
-- When counting began: rows written before it were never counted, so deleting them takes nothing back.
DO $$
BEGIN
  EXECUTE format('CREATE FUNCTION usage_counted_since() RETURNS timestamptz LANGUAGE sql IMMUTABLE AS %L',
                 format('SELECT %L::timestamptz', now()));
END $$;--> statement-breakpoint
-- A run deleted is taken back from the month it was created in: the scheduled runs ahead that a
-- paused deployment or a changed schedule withdraws before they start, and that the scheduler
-- makes again later, count once.
CREATE FUNCTION "usage_uncount_runs"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_deltas (workspace_id, month, runs, metadata_bytes)
  SELECT workspace_id, date_trunc('month', created_at AT TIME ZONE 'UTC')::date, -count(*), -sum(pg_column_size(o))
  FROM old_rows o WHERE created_at >= usage_counted_since()
  GROUP BY workspace_id, date_trunc('month', created_at AT TIME ZONE 'UTC');
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "flow_runs_usage_deleted" AFTER DELETE ON "flow_runs"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION usage_uncount_runs();
