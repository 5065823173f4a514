-- Where each attempt ran, as its worker reported it: the run's manifest reads these.
ALTER TABLE "flow_run_attempts" ADD COLUMN "worker_version" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "executor" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "node_version" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "image" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "image_digest" text;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD COLUMN "environment_reported_at" timestamp (3) with time zone;--> statement-breakpoint
-- A run created from another run's manifest ("Reproduce").
ALTER TABLE "flow_runs" ADD COLUMN "reproduced_from_id" uuid;--> statement-breakpoint
CREATE INDEX "flow_runs_reproduced_from_idx" ON "flow_runs" USING btree ("reproduced_from_id","created_at") WHERE reproduced_from_id IS NOT NULL;--> statement-breakpoint
-- Run waits: resolved when another run (a deployment's run a flow started) reaches a terminal state.
ALTER TABLE "waits" ADD COLUMN "target_run_id" uuid;--> statement-breakpoint
CREATE INDEX "waits_target_run_idx" ON "waits" USING btree ("target_run_id") WHERE status = 'WAITING' AND target_run_id IS NOT NULL;--> statement-breakpoint
ALTER TABLE "waits" DROP CONSTRAINT "waits_kind_ck";--> statement-breakpoint
ALTER TABLE "waits" ADD CONSTRAINT "waits_kind_ck" CHECK (kind IN ('event', 'until', 'approval', 'token', 'run'));
