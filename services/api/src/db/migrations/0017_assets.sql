-- Assets: the graph an asset deployment registers, what runs report about the data they wrote
-- (materialisations, failures, check results; metadata only, never data), the latest status of each
-- asset partition for the partition grid, waivers of failed checks, and dynamic partition sets.
-- A run records the partition it works on.
CREATE TABLE "asset_definitions" (
	"workspace_id" uuid NOT NULL,
	"key" text NOT NULL,
	"deployment_id" uuid NOT NULL,
	"code_version" text NOT NULL,
	"deps" text[] DEFAULT '{}'::text[] NOT NULL,
	"partitions" jsonb,
	"checks" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"owners" text[] DEFAULT '{}'::text[] NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"group_name" text,
	"io" text,
	"accepts_range" boolean DEFAULT false NOT NULL,
	"description" text,
	"defined_at" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "asset_definitions_workspace_id_key_pk" PRIMARY KEY("workspace_id","key")
);
--> statement-breakpoint
CREATE TABLE "asset_materializations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"asset_key" text NOT NULL,
	"partition_key" text,
	"flow_run_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"code_version" text NOT NULL,
	"data_version" text,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"duration_ms" integer,
	"seq" bigserial NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "asset_failures" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"asset_key" text NOT NULL,
	"partition_key" text,
	"flow_run_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"message" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "asset_partitions" (
	"workspace_id" uuid NOT NULL,
	"asset_key" text NOT NULL,
	"partition_key" text NOT NULL,
	"status" text NOT NULL,
	"flow_run_id" uuid,
	"materialization_id" uuid,
	"code_version" text,
	"data_version" text,
	"materialized_at" timestamp (3) with time zone,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "asset_partitions_workspace_id_asset_key_partition_key_pk" PRIMARY KEY("workspace_id","asset_key","partition_key"),
	CONSTRAINT "asset_partitions_status_ck" CHECK (status IN ('MATERIALIZED', 'FAILED', 'MATERIALIZING'))
);
--> statement-breakpoint
CREATE TABLE "asset_check_results" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"asset_key" text NOT NULL,
	"check_name" text NOT NULL,
	"partition_key" text,
	"flow_run_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"materialization_id" uuid,
	"passed" boolean NOT NULL,
	"severity" text NOT NULL,
	"blocking" boolean NOT NULL,
	"metadata" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"seq" bigserial NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "asset_check_waivers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"asset_key" text NOT NULL,
	"check_name" text NOT NULL,
	"partition_key" text,
	"check_result_id" uuid NOT NULL,
	"result_seq" bigint NOT NULL,
	"reason" text NOT NULL,
	"waived_by" text NOT NULL,
	"actor_kind" text NOT NULL,
	"actor_id" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dynamic_partition_keys" (
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"key" text NOT NULL,
	"position" bigserial NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "dynamic_partition_keys_workspace_id_name_key_pk" PRIMARY KEY("workspace_id","name","key")
);
--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "partition_key" text;--> statement-breakpoint
ALTER TABLE "asset_definitions" ADD CONSTRAINT "asset_definitions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_definitions" ADD CONSTRAINT "asset_definitions_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_materializations" ADD CONSTRAINT "asset_materializations_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_materializations" ADD CONSTRAINT "asset_materializations_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_failures" ADD CONSTRAINT "asset_failures_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_failures" ADD CONSTRAINT "asset_failures_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_partitions" ADD CONSTRAINT "asset_partitions_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_partitions" ADD CONSTRAINT "asset_partitions_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_check_results" ADD CONSTRAINT "asset_check_results_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_check_results" ADD CONSTRAINT "asset_check_results_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "asset_check_waivers" ADD CONSTRAINT "asset_check_waivers_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dynamic_partition_keys" ADD CONSTRAINT "dynamic_partition_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "asset_definitions_deployment_idx" ON "asset_definitions" USING btree ("deployment_id");--> statement-breakpoint
CREATE UNIQUE INDEX "asset_materializations_run_uq" ON "asset_materializations" USING btree ("flow_run_id","asset_key",coalesce("partition_key", ''));--> statement-breakpoint
CREATE INDEX "asset_materializations_asset_idx" ON "asset_materializations" USING btree ("workspace_id","asset_key","seq");--> statement-breakpoint
CREATE INDEX "asset_materializations_partition_idx" ON "asset_materializations" USING btree ("workspace_id","asset_key","partition_key","seq");--> statement-breakpoint
CREATE UNIQUE INDEX "asset_failures_run_uq" ON "asset_failures" USING btree ("flow_run_id","asset_key",coalesce("partition_key", ''));--> statement-breakpoint
CREATE UNIQUE INDEX "asset_check_results_run_uq" ON "asset_check_results" USING btree ("flow_run_id","asset_key","check_name",coalesce("partition_key", ''));--> statement-breakpoint
CREATE INDEX "asset_check_results_asset_idx" ON "asset_check_results" USING btree ("workspace_id","asset_key","seq");--> statement-breakpoint
CREATE INDEX "asset_check_results_check_idx" ON "asset_check_results" USING btree ("workspace_id","asset_key","check_name","seq");--> statement-breakpoint
CREATE INDEX "asset_check_results_partition_idx" ON "asset_check_results" USING btree ("workspace_id","asset_key","check_name","partition_key","seq");--> statement-breakpoint
CREATE INDEX "asset_check_waivers_check_idx" ON "asset_check_waivers" USING btree ("workspace_id","asset_key","check_name");--> statement-breakpoint
CREATE INDEX "dynamic_partition_keys_position_idx" ON "dynamic_partition_keys" USING btree ("workspace_id","name","position");
