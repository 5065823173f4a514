CREATE TABLE "deployment_versions" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"content_hash" text NOT NULL,
	"source" text NOT NULL,
	"entrypoint" text NOT NULL,
	"parameter_schema" jsonb,
	"job_variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"source_digest" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "version_id" uuid;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "source_digest" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "started_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "ended_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "state_type" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "state_name" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "state_message" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "exit_code" integer;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "deployment_version_id" uuid;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "scheduled_time" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "schedule_id" uuid;--> statement-breakpoint
ALTER TABLE "deployment_versions" ADD CONSTRAINT "deployment_versions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_versions_content_uq" ON "deployment_versions" USING btree ("workspace_id","content_hash");--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_version_id_deployment_versions_id_fk" FOREIGN KEY ("version_id") REFERENCES "public"."deployment_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD CONSTRAINT "flow_runs_deployment_version_id_deployment_versions_id_fk" FOREIGN KEY ("deployment_version_id") REFERENCES "public"."deployment_versions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD CONSTRAINT "flow_runs_deployment_version_ck" CHECK (deployment_id IS NULL OR deployment_version_id IS NOT NULL);--> statement-breakpoint
-- A version's identity: a sha256 over its four parts as jsonb text (jsonb orders keys itself, so two
-- deploys of the same content hash alike). The deploy statement computes it with this function too.
CREATE FUNCTION "deployment_content_hash"(source text, entrypoint text, parameter_schema jsonb, job_variables jsonb)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT encode(sha256(convert_to(jsonb_build_object(
    'source', source, 'entrypoint', entrypoint, 'parameterSchema', parameter_schema, 'jobVariables', job_variables)::text, 'UTF8')), 'hex')
$$;--> statement-breakpoint
-- What a source is pinned to: the manifest digest of an OCI source (registry or layout), the commit of a
-- git source; null for a directory, which is read as it is.
CREATE FUNCTION "deployment_source_digest"(source text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN source LIKE 'git+%' THEN substring(source from '#([0-9a-f]{40})$')
              ELSE substring(source from '@(sha256:[a-f0-9]{64})$') END
$$;--> statement-breakpoint
-- Existing deployments: each gets the version of its current content…
INSERT INTO "deployment_versions" ("workspace_id", "content_hash", "source", "entrypoint", "parameter_schema", "job_variables", "source_digest")
SELECT DISTINCT ON (d."workspace_id", h.hash) d."workspace_id", h.hash, d."source", d."entrypoint", d."parameter_schema",
       d."job_variables", deployment_source_digest(d."source")
FROM "deployments" d
CROSS JOIN LATERAL (SELECT deployment_content_hash(d."source", d."entrypoint", d."parameter_schema", d."job_variables") AS hash) h
ON CONFLICT DO NOTHING;--> statement-breakpoint
UPDATE "deployments" d SET "version_id" = v."id"
FROM "deployment_versions" v
WHERE v."workspace_id" = d."workspace_id"
  AND v."content_hash" = deployment_content_hash(d."source", d."entrypoint", d."parameter_schema", d."job_variables");--> statement-breakpoint
ALTER TABLE "deployments" ALTER COLUMN "version_id" SET NOT NULL;--> statement-breakpoint
-- …and existing runs are pinned to it (what they would have run anyway). Their first due time is
-- their expected start; the schedule, where their key or backfill names it.
UPDATE "flow_runs" r SET "deployment_version_id" = d."version_id"
FROM "deployments" d WHERE d."id" = r."deployment_id";--> statement-breakpoint
UPDATE "flow_runs" SET "scheduled_time" = "expected_start_time";--> statement-breakpoint
UPDATE "flow_runs" r SET "schedule_id" = s."id"
FROM "backfills" b JOIN "deployment_schedules" s ON s."deployment_id" = b."deployment_id" AND s."slug" = b."schedule_slug"
WHERE r."backfill_id" = b."id";--> statement-breakpoint
UPDATE "flow_runs" r SET "schedule_id" = s."id"
FROM "deployment_schedules" s
WHERE r."backfill_id" IS NULL AND r."idempotency_key" LIKE 'scheduled:%' AND s."deployment_id" = r."deployment_id"
  AND r."idempotency_key" LIKE 'scheduled:' || s."slug" || ':%';--> statement-breakpoint
-- Every new run is pinned when it is created, whichever path creates it: the version its deployment
-- has at that moment, and its first due time.
CREATE FUNCTION "flow_runs_pin_version"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW."deployment_id" IS NOT NULL AND NEW."deployment_version_id" IS NULL THEN
    SELECT "version_id" INTO NEW."deployment_version_id" FROM "deployments" WHERE "id" = NEW."deployment_id";
  END IF;
  IF NEW."scheduled_time" IS NULL THEN
    NEW."scheduled_time" := NEW."expected_start_time";
  END IF;
  RETURN NEW;
END
$$;--> statement-breakpoint
CREATE TRIGGER "flow_runs_pin_version" BEFORE INSERT ON "flow_runs"
FOR EACH ROW EXECUTE FUNCTION "flow_runs_pin_version"();