CREATE TABLE "backfills" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"deployment_id" uuid NOT NULL,
	"schedule_slug" text NOT NULL,
	"range_start" timestamp (3) with time zone NOT NULL,
	"range_end" timestamp (3) with time zone NOT NULL,
	"max_concurrent" integer NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"run_count" integer NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"cancelled_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "deployment_schedules" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"deployment_id" uuid NOT NULL,
	"slug" text NOT NULL,
	"cron" text,
	"timezone" text,
	"interval_seconds" integer,
	"anchor_date" timestamp (3) with time zone,
	"active" boolean DEFAULT true NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"catchup" text DEFAULT 'latest' NOT NULL,
	"filled_until" timestamp (3) with time zone,
	"next_fill_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "backfill_id" uuid;--> statement-breakpoint
ALTER TABLE "backfills" ADD CONSTRAINT "backfills_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backfills" ADD CONSTRAINT "backfills_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_schedules" ADD CONSTRAINT "deployment_schedules_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployment_schedules" ADD CONSTRAINT "deployment_schedules_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backfills_deployment_idx" ON "backfills" USING btree ("deployment_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "deployment_schedules_slug_uq" ON "deployment_schedules" USING btree ("deployment_id","slug");--> statement-breakpoint
CREATE INDEX "deployment_schedules_due_idx" ON "deployment_schedules" USING btree ("next_fill_at") WHERE active;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD CONSTRAINT "flow_runs_backfill_id_backfills_id_fk" FOREIGN KEY ("backfill_id") REFERENCES "public"."backfills"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "flow_runs_backfill_idx" ON "flow_runs" USING btree ("backfill_id","state_type") WHERE backfill_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX "flow_runs_backfill_due_idx" ON "flow_runs" USING btree ("work_pool_id","expected_start_time") WHERE backfill_id IS NOT NULL AND state_type = 'SCHEDULED';