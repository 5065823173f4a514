-- Durable waits: a run waits for an event, a time, a person's approval or a token. A long wait
-- suspends the run (PAUSED, lease released); resolving the wait puts it back in the queue.
CREATE TABLE "waits" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "workspace_id" uuid NOT NULL CONSTRAINT "waits_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "flow_run_id" uuid NOT NULL CONSTRAINT "waits_flow_run_id_flow_runs_id_fk" REFERENCES "flow_runs"("id"),
  "key" text NOT NULL,
  "kind" text NOT NULL,
  "spec" jsonb NOT NULL,
  "status" text DEFAULT 'WAITING' NOT NULL,
  "expires_at" timestamp(3) with time zone,
  "due_at" timestamp(3) with time zone,
  "event_kind" text,
  "token" text,
  "looked_back" boolean DEFAULT false NOT NULL,
  "resolved_at" timestamp(3) with time zone,
  "value" jsonb,
  "decided_by" uuid,
  "created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "waits_kind_ck" CHECK ("kind" IN ('event', 'until', 'approval', 'token')),
  CONSTRAINT "waits_status_ck" CHECK ("status" IN ('WAITING', 'RESOLVED', 'TIMED_OUT', 'CANCELLED'))
);--> statement-breakpoint
CREATE UNIQUE INDEX "waits_run_key_uq" ON "waits" USING btree ("flow_run_id", "key");--> statement-breakpoint
CREATE INDEX "waits_workspace_idx" ON "waits" USING btree ("workspace_id", "created_at", "id");--> statement-breakpoint
CREATE INDEX "waits_due_idx" ON "waits" USING btree ("due_at") WHERE "status" = 'WAITING';--> statement-breakpoint
CREATE INDEX "waits_event_idx" ON "waits" USING btree ("workspace_id", "event_kind") WHERE "status" = 'WAITING';--> statement-breakpoint
CREATE INDEX "waits_token_idx" ON "waits" USING btree ("workspace_id", "token") WHERE "status" = 'WAITING';--> statement-breakpoint
CREATE INDEX "waits_lookback_idx" ON "waits" USING btree ("created_at") WHERE NOT "looked_back";--> statement-breakpoint
-- A token completed before any wait asks for it is kept: the wait that asks later resolves at once.
CREATE TABLE "wait_tokens" (
  "workspace_id" uuid NOT NULL CONSTRAINT "wait_tokens_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "token" text NOT NULL,
  "value" jsonb,
  "completed_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "wait_tokens_workspace_id_token_pk" PRIMARY KEY("workspace_id", "token")
);--> statement-breakpoint
-- Where the worker's result storage keeps each completed task's result when its run suspended:
-- the next attempt answers those tasks from storage instead of running them again.
CREATE TABLE "recorded_results" (
  "workspace_id" uuid NOT NULL CONSTRAINT "recorded_results_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "flow_run_id" uuid NOT NULL,
  "task_key" text NOT NULL,
  "dynamic_key" text NOT NULL,
  "task_run_id" uuid NOT NULL,
  "ref" text NOT NULL,
  "attempt" integer NOT NULL,
  "recorded_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "recorded_results_flow_run_id_task_key_dynamic_key_pk" PRIMARY KEY("flow_run_id", "task_key", "dynamic_key")
);--> statement-breakpoint
-- The ledger position the waits loop has matched events up to (one row).
CREATE TABLE "wait_event_cursor" (
  "name" text PRIMARY KEY NOT NULL,
  "txid" xid8 NOT NULL,
  "seq" bigint NOT NULL
);--> statement-breakpoint
-- Attempts that began by resuming a suspended run: they spend no retry.
ALTER TABLE "flow_runs" ADD COLUMN "resumes" integer DEFAULT 0 NOT NULL;
