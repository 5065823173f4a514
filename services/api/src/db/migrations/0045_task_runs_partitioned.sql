-- Task runs move to a table partitioned by month of `created_at`, the third table after logs (0042)
-- and events (0044), so retention can remove a month of task-run history at once instead of
-- deleting it row by row.
--
-- The key becomes (id, created_at), as a partitioned table's key must hold its partition key, so an
-- id is unique within a month rather than across the table. The statements that look a task run up
-- by id bound `created_at` from below by `task_runs_since` of its flow run's creation, which every
-- task run's `created_at` is at or after (the statements that insert them see to it): the fan-out
-- path probes the months since the run began, not every month kept. A retried creation is
-- recognised by its id within those months (db/task-run-batches.ts), no longer by the key alone.
--
-- The existing table becomes the first partition, `task_runs_history`, holding every task run up
-- to the end of the month the migration runs in (or of its latest task run). Attaching it reads it
-- once and builds its new key; the table is not rewritten.
-- The least `created_at` of a run's task runs: the first instant of the month of the day before the
-- run was created. A month, because partitions are months; a day before, because task runs stored
-- before this migration were stamped by the worker's clock with no lower bound, and one behind the
-- database's by a moment could stamp a run created at the start of a month in the month before.
CREATE FUNCTION task_runs_since(run_created timestamptz) RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
  SELECT partition_start(run_created - interval '1 day')
$$;--> statement-breakpoint
ALTER TABLE "task_runs" RENAME TO "task_runs_history";--> statement-breakpoint
ALTER TABLE "task_runs_history" RENAME CONSTRAINT "task_runs_workspace_id_workspaces_id_fk" TO "task_runs_history_workspace_id_fk";--> statement-breakpoint
ALTER TABLE "task_runs_history" RENAME CONSTRAINT "task_runs_flow_run_id_flow_runs_id_fk" TO "task_runs_history_flow_run_id_fk";--> statement-breakpoint
ALTER TABLE "task_runs_history" DROP CONSTRAINT "task_runs_pkey";--> statement-breakpoint
-- Kept under a name of its own; the attach adopts it as the partition of the parent's index.
ALTER INDEX "task_runs_flow_run_idx" RENAME TO "task_runs_history_flow_run_idx";--> statement-breakpoint
-- The event triggers move to the parent: they fire for every partition from there.
DROP TRIGGER "events_from_task_runs_insert" ON "task_runs_history";--> statement-breakpoint
DROP TRIGGER "events_from_task_runs_update" ON "task_runs_history";--> statement-breakpoint
CREATE TABLE "task_runs" (
  "id" uuid NOT NULL,
  "workspace_id" uuid NOT NULL,
  "flow_run_id" uuid NOT NULL,
  "flow_run_attempt" integer NOT NULL,
  "name" text NOT NULL,
  "task_key" text NOT NULL,
  "dynamic_key" text NOT NULL,
  "run_count" integer DEFAULT 1 NOT NULL,
  "cache_key" text,
  "state_type" text NOT NULL,
  "state_name" text NOT NULL,
  "state_message" text,
  "state_timestamp" timestamp (3) with time zone DEFAULT now() NOT NULL,
  "state_data" jsonb,
  "start_time" timestamp (3) with time zone,
  "end_time" timestamp (3) with time zone,
  "created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
  "updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
  "state_seq" integer DEFAULT 0 NOT NULL,
  CONSTRAINT "task_runs_id_created_at_pk" PRIMARY KEY ("id", "created_at")
) PARTITION BY RANGE ("created_at");--> statement-breakpoint
ALTER TABLE "task_runs" ADD CONSTRAINT "task_runs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_runs" ADD CONSTRAINT "task_runs_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "task_runs_flow_run_idx" ON "task_runs" USING btree ("flow_run_id", "created_at", "id");--> statement-breakpoint
CREATE TRIGGER "events_from_task_runs_insert" AFTER INSERT ON "task_runs"
  REFERENCING NEW TABLE AS "new_task_runs" FOR EACH STATEMENT EXECUTE FUNCTION "events_from_task_runs_insert"();--> statement-breakpoint
CREATE TRIGGER "events_from_task_runs_update" AFTER UPDATE ON "task_runs"
  REFERENCING OLD TABLE AS "old_task_runs" NEW TABLE AS "new_task_runs" FOR EACH STATEMENT EXECUTE FUNCTION "events_from_task_runs_update"();--> statement-breakpoint
DO $$
DECLARE
  bound timestamptz := ((partition_start(now()) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  latest timestamptz;
BEGIN
  SELECT max("created_at") INTO latest FROM task_runs_history;
  IF latest IS NULL THEN
    -- Nothing to keep: the months start with the current one, and the history partition stays
    -- empty until retention drops it.
    bound := partition_start(now());
  ELSIF latest >= bound THEN
    bound := ((partition_start(latest) AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
  END IF;
  EXECUTE format('ALTER TABLE task_runs ATTACH PARTITION task_runs_history FOR VALUES FROM (MINVALUE) TO (%L)', bound);
  INSERT INTO table_partitions (name, parent, starts, ends) VALUES ('task_runs_history', 'task_runs', '-infinity', bound);
END $$;--> statement-breakpoint
SELECT ensure_partitions('task_runs', 2);
