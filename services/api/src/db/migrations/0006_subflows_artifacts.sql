CREATE TABLE "artifacts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"flow_run_id" uuid NOT NULL,
	"task_run_id" uuid,
	"key" text NOT NULL,
	"type" text NOT NULL,
	"description" text,
	"data" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "parent_flow_run_id" uuid;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "parent_task_run_id" uuid;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "root_flow_run_id" uuid;--> statement-breakpoint
ALTER TABLE "artifacts" ADD CONSTRAINT "artifacts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "artifacts" ADD CONSTRAINT "artifacts_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "artifacts_run_idx" ON "artifacts" USING btree ("flow_run_id","created_at");--> statement-breakpoint
CREATE INDEX "artifacts_key_idx" ON "artifacts" USING btree ("workspace_id","key","updated_at");--> statement-breakpoint
CREATE UNIQUE INDEX "artifacts_progress_uq" ON "artifacts" USING btree ("flow_run_id","key") WHERE type = 'progress';--> statement-breakpoint
CREATE INDEX "flow_runs_parent_idx" ON "flow_runs" USING btree ("parent_flow_run_id","created_at") WHERE parent_flow_run_id IS NOT NULL;--> statement-breakpoint
CREATE INDEX "flow_runs_root_idx" ON "flow_runs" USING btree ("root_flow_run_id") WHERE root_flow_run_id IS NOT NULL;