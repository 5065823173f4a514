-- Lazy backfills: a backfill stores what it covers (a schedule's times, or partitions of a
-- definition, for a deployment or for assets) and how far it got (`position` of `partition_count`
-- units); the backfill loop creates its runs as earlier ones finish, at most max_concurrent in
-- flight, and writes one backfill_partitions row per partition only when that partition's run is
-- created.
ALTER TABLE "deployment_schedules" ADD COLUMN "partitions" jsonb;--> statement-breakpoint
ALTER TABLE "backfills" ALTER COLUMN "schedule_slug" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ALTER COLUMN "range_start" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ALTER COLUMN "range_end" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "target" text DEFAULT 'deployment' NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "asset_keys" text[];--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "partitions" jsonb;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "selection" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "single_run" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "partition_count" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "position" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "status" text DEFAULT 'RUNNING' NOT NULL;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "message" text;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "paused_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "finished_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "backfills" ADD COLUMN "claim_capped" boolean DEFAULT false NOT NULL;--> statement-breakpoint
CREATE INDEX "backfills_workspace_idx" ON "backfills" USING btree ("workspace_id","created_at","id");--> statement-breakpoint
CREATE INDEX "backfills_running_idx" ON "backfills" USING btree ("id") WHERE status = 'RUNNING';--> statement-breakpoint
CREATE TABLE "backfill_partitions" (
	"workspace_id" uuid NOT NULL,
	"backfill_id" uuid NOT NULL,
	"ordinal" integer NOT NULL,
	"partition_key" text NOT NULL,
	"status" text NOT NULL,
	"flow_run_id" uuid,
	"runs" integer DEFAULT 0 NOT NULL,
	"requeued" boolean DEFAULT false NOT NULL,
	"message" text,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "backfill_partitions_backfill_id_ordinal_pk" PRIMARY KEY("backfill_id","ordinal")
);--> statement-breakpoint
ALTER TABLE "backfill_partitions" ADD CONSTRAINT "backfill_partitions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backfill_partitions" ADD CONSTRAINT "backfill_partitions_backfill_id_backfills_id_fk" FOREIGN KEY ("backfill_id") REFERENCES "public"."backfills"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backfill_partitions" ADD CONSTRAINT "backfill_partitions_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "backfill_partitions_key_uq" ON "backfill_partitions" USING btree ("backfill_id","partition_key");--> statement-breakpoint
CREATE INDEX "backfill_partitions_status_idx" ON "backfill_partitions" USING btree ("backfill_id","status","ordinal");--> statement-breakpoint
CREATE INDEX "backfill_partitions_requeued_idx" ON "backfill_partitions" USING btree ("backfill_id","ordinal") WHERE requeued;--> statement-breakpoint
CREATE INDEX "backfill_partitions_run_idx" ON "backfill_partitions" USING btree ("flow_run_id");--> statement-breakpoint
-- A backfill partition's status follows its run's state, whichever code path changes it (claim,
-- proposals, lease expiry, cancels), and a run leaving flight nudges the backfill loop on
-- outpost_backfills (a latency hint; the loop also ticks on its own).
CREATE FUNCTION "backfill_partition_status"(state_type text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE state_type
    WHEN 'SCHEDULED' THEN 'PENDING' WHEN 'PENDING' THEN 'PENDING'
    WHEN 'COMPLETED' THEN 'COMPLETED' WHEN 'FAILED' THEN 'FAILED' WHEN 'CRASHED' THEN 'FAILED'
    WHEN 'CANCELLED' THEN 'CANCELLED'
    ELSE 'RUNNING' END
$$;--> statement-breakpoint
CREATE FUNCTION "outpost_backfill_run_changed"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- By the run alone: with the backfill's id too, a plan cached while the table was small may walk
  -- every row of the backfill through its (backfill_id, …) indexes instead of backfill_partitions_run_idx.
  UPDATE "backfill_partitions" SET "status" = backfill_partition_status(NEW.state_type), "updated_at" = now()
  WHERE "flow_run_id" = NEW.id AND "status" <> backfill_partition_status(NEW.state_type);
  IF NEW.state_type IN ('COMPLETED', 'FAILED', 'CRASHED', 'CANCELLED') THEN
    PERFORM pg_notify('outpost_backfills', NEW.backfill_id::text);
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "flow_runs_backfill_progress" AFTER UPDATE OF "state_type" ON "flow_runs"
  FOR EACH ROW WHEN (NEW.backfill_id IS NOT NULL AND OLD.state_type IS DISTINCT FROM NEW.state_type)
  EXECUTE FUNCTION "outpost_backfill_run_changed"();--> statement-breakpoint
-- Backfills made before: they created every run up front. Each run becomes its time's partition row,
-- and the loop finishes them like any other once their runs are done.
UPDATE "backfills" SET
  "selection" = jsonb_build_object('times', jsonb_build_object(
    'start', to_char("range_start" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
    'end', to_char("range_end" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))),
  "partition_count" = "run_count", "position" = "run_count",
  "status" = CASE WHEN "cancelled_at" IS NULL THEN 'RUNNING' ELSE 'CANCELLED' END,
  "finished_at" = "cancelled_at", "claim_capped" = true;--> statement-breakpoint
INSERT INTO "backfill_partitions" ("workspace_id", "backfill_id", "ordinal", "partition_key", "status", "flow_run_id", "runs", "updated_at")
SELECT r."workspace_id", r."backfill_id",
       (row_number() OVER (PARTITION BY r."backfill_id" ORDER BY r."scheduled_time", r."id") - 1)::int,
       to_char(r."scheduled_time" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       backfill_partition_status(r."state_type"), r."id", 1, r."updated_at"
FROM "flow_runs" r WHERE r."backfill_id" IS NOT NULL;
