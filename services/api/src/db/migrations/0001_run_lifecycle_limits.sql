CREATE TABLE "concurrency_limits" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"tag" text NOT NULL,
	"limit" integer NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "retry_backoff" double precision DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "retry_jitter" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "concurrency_limit" integer;--> statement-breakpoint
ALTER TABLE "deployments" ADD COLUMN "collision_strategy" text DEFAULT 'ENQUEUE' NOT NULL;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "retry_backoff" double precision DEFAULT 1 NOT NULL;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD COLUMN "retry_jitter" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "concurrency_limits" ADD CONSTRAINT "concurrency_limits_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "concurrency_limits_workspace_tag_uq" ON "concurrency_limits" USING btree ("workspace_id","tag");--> statement-breakpoint
CREATE INDEX "deployments_limited_idx" ON "deployments" USING btree ("workspace_id") WHERE concurrency_limit IS NOT NULL;--> statement-breakpoint
CREATE INDEX "flow_runs_active_deployment_idx" ON "flow_runs" USING btree ("deployment_id") WHERE state_type IN ('PENDING', 'RUNNING', 'CANCELLING');--> statement-breakpoint
CREATE INDEX "flow_runs_active_workspace_idx" ON "flow_runs" USING btree ("workspace_id") WHERE state_type IN ('PENDING', 'RUNNING', 'CANCELLING');--> statement-breakpoint
CREATE INDEX "flow_runs_late_idx" ON "flow_runs" USING btree ("expected_start_time") WHERE state_type = 'SCHEDULED' AND state_name IN ('Scheduled', 'AwaitingRetry');