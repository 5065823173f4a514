-- What each materialisation consumed: for every upstream asset its definition named when it was
-- recorded, the upstream materialisation(s) current then (one row per materialisation and upstream).
-- The control plane derives them as the report is written (the worker reports no input versions),
-- in the same transaction, from asset_partitions. `partitions` lists at most 50 upstream partitions
-- (newest first) and `partition_count` counts at most 10,001, so a row costs the same however many
-- partitions the upstream has. The key follows the materialisation's id (a retried attempt
-- replaces its row's id, ON UPDATE CASCADE) and goes with it.
CREATE TABLE "asset_materialization_inputs" (
	"materialization_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"upstream_key" text NOT NULL,
	"partition_key" text,
	"partitioned" boolean NOT NULL,
	"partition_count" integer NOT NULL,
	"partitions" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "asset_materialization_inputs_materialization_id_upstream_key_pk" PRIMARY KEY("materialization_id","upstream_key")
);
--> statement-breakpoint
ALTER TABLE "asset_materialization_inputs" ADD CONSTRAINT "asset_materialization_inputs_materialization_id_asset_materializations_id_fk" FOREIGN KEY ("materialization_id") REFERENCES "public"."asset_materializations"("id") ON DELETE cascade ON UPDATE cascade;--> statement-breakpoint
ALTER TABLE "asset_materialization_inputs" ADD CONSTRAINT "asset_materialization_inputs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Whether the inputs of a materialisation were recorded: false for those written before this
-- migration (their inputs are unknown, not none), true for every one written since (the default).
ALTER TABLE "asset_materializations" ADD COLUMN "inputs_recorded" boolean DEFAULT false NOT NULL;--> statement-breakpoint
ALTER TABLE "asset_materializations" ALTER COLUMN "inputs_recorded" SET DEFAULT true;
