DROP INDEX "task_runs_flow_run_idx";--> statement-breakpoint
ALTER TABLE "task_runs" ADD COLUMN "state_seq" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "task_runs_flow_run_idx" ON "task_runs" USING btree ("flow_run_id","created_at","id");