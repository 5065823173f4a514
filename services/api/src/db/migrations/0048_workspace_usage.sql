-- What each workspace uses, month by month (UTC): runs and task runs created, seconds its runs spent
-- RUNNING on workers, log lines and their bytes, events stored, and the bytes of those rows.
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
-- A log line's bytes are its message's (UTF-8); the row around it counts as metadata.
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
-- Compute: each stretch a run spends RUNNING, from the state the worker reported when it started
-- (or resumed) to the state that ended the stretch (finished, failed, paused, crashed when its
-- lease lapsed), counted in the month the stretch ends.
CREATE FUNCTION "usage_count_compute"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO usage_deltas (workspace_id, month, compute_seconds)
  VALUES (NEW.workspace_id, usage_month(),
          greatest(0, extract(epoch FROM NEW.state_timestamp - OLD.state_timestamp))::double precision);
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "flow_runs_usage_compute" AFTER UPDATE OF "state_type" ON "flow_runs"
  FOR EACH ROW WHEN (OLD.state_type = 'RUNNING' AND NEW.state_type <> 'RUNNING')
  EXECUTE FUNCTION usage_count_compute();
