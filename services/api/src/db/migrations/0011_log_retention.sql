CREATE TABLE "retention_marks" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"logs_through_end_time" timestamp (3) with time zone NOT NULL,
	"logs_through_run_id" uuid NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "retention_marks" ADD CONSTRAINT "retention_marks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "flow_runs_ended_idx" ON "flow_runs" USING btree ("workspace_id","end_time","id") WHERE end_time IS NOT NULL;