-- Declarative automation of assets: the policies a deploy registers, what the automation loop
-- decided (and why), and each asset's freshness as last announced, so a change of it raises one
-- event across replicas and restarts.
ALTER TABLE "asset_definitions" ADD COLUMN "automation" jsonb;--> statement-breakpoint
ALTER TABLE "asset_definitions" ADD COLUMN "freshness" jsonb;--> statement-breakpoint
CREATE TABLE "asset_automation_evaluations" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "workspace_id" uuid NOT NULL CONSTRAINT "asset_automation_evaluations_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "asset_key" text NOT NULL,
  "partition_key" text,
  "evaluation_key" text NOT NULL,
  "reason" text NOT NULL,
  "outcome" text NOT NULL,
  "skip_reason" text,
  "message" text NOT NULL,
  "flow_run_id" uuid CONSTRAINT "asset_automation_evaluations_flow_run_id_flow_runs_id_fk" REFERENCES "flow_runs"("id"),
  "seq" bigserial NOT NULL,
  "created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "asset_automation_evaluations_reason_ck" CHECK (reason IN ('upstream_updated', 'cron', 'missing')),
  CONSTRAINT "asset_automation_evaluations_outcome_ck" CHECK (outcome IN ('REQUESTED', 'SKIPPED'))
);--> statement-breakpoint
CREATE UNIQUE INDEX "asset_automation_evaluations_key_uq" ON "asset_automation_evaluations" USING btree ("workspace_id","evaluation_key");--> statement-breakpoint
CREATE INDEX "asset_automation_evaluations_asset_idx" ON "asset_automation_evaluations" USING btree ("workspace_id","asset_key","seq");--> statement-breakpoint
CREATE TABLE "asset_freshness" (
  "workspace_id" uuid NOT NULL CONSTRAINT "asset_freshness_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "asset_key" text NOT NULL,
  "violated" boolean NOT NULL,
  "deadline" timestamp(3) with time zone NOT NULL,
  "changes" integer DEFAULT 0 NOT NULL,
  "changed_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "asset_freshness_workspace_id_asset_key_pk" PRIMARY KEY("workspace_id","asset_key")
);
