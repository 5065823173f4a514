-- Resources: what a worker has (GPU devices, memory, CPU slots), what a deployment or run asks for,
-- which devices each attempt was handed, and the GPU quotas of a pool.
ALTER TABLE "workers" ADD COLUMN "resources" jsonb;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "resources" jsonb;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "resources" jsonb;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "assigned_resources" jsonb;--> statement-breakpoint
ALTER TABLE "work_pools" ADD COLUMN "gpu_quota" integer;--> statement-breakpoint
ALTER TABLE "work_pools" ADD COLUMN "gpu_quota_by_tag" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
-- The claim's lock statement asks whether a pool has due runs with a resource request; most have none.
CREATE INDEX "flow_runs_resources_due_idx" ON "flow_runs" USING btree ("work_pool_id","expected_start_time") WHERE state_type = 'SCHEDULED' AND resources IS NOT NULL;--> statement-breakpoint
-- A run asks for what its deployment asks for, unless it was created with its own request; whichever
-- path creates it (API, schedule, automation, sensor, backfill).
CREATE FUNCTION "flow_runs_resolve_resources"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."resources" IS NULL AND NEW."deployment_id" IS NOT NULL THEN
    SELECT "resources" INTO NEW."resources" FROM "deployments" WHERE "id" = NEW."deployment_id";
  END IF;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "flow_runs_resolve_resources" BEFORE INSERT ON "flow_runs"
FOR EACH ROW EXECUTE FUNCTION "flow_runs_resolve_resources"();
