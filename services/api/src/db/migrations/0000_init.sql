CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"prefix" text NOT NULL,
	"key_hash" text NOT NULL,
	"pools" text[] DEFAULT '{}'::text[] NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp (3) with time zone,
	"last_used_at" timestamp (3) with time zone,
	"revoked_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "deployments" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"flow_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"source" text NOT NULL,
	"entrypoint" text NOT NULL,
	"parameter_schema" jsonb,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"work_pool_id" uuid NOT NULL,
	"work_queue_id" uuid NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"job_variables" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"retries" integer DEFAULT 0 NOT NULL,
	"retry_delay_seconds" integer DEFAULT 0 NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "flow_run_states" (
	"seq" bigserial PRIMARY KEY NOT NULL,
	"id" uuid DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"flow_run_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"type" text NOT NULL,
	"name" text NOT NULL,
	"message" text,
	"data" jsonb,
	"timestamp" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"transition_id" uuid,
	"response" jsonb
);
--> statement-breakpoint
CREATE TABLE "flow_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"flow_id" uuid NOT NULL,
	"deployment_id" uuid,
	"work_pool_id" uuid,
	"work_queue_id" uuid,
	"name" text NOT NULL,
	"parameters" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"tags" text[] DEFAULT '{}'::text[] NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"state_type" text NOT NULL,
	"state_name" text NOT NULL,
	"state_message" text,
	"state_timestamp" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"state_data" jsonb,
	"attempt" integer DEFAULT 1 NOT NULL,
	"max_retries" integer DEFAULT 0 NOT NULL,
	"retry_delay_seconds" integer DEFAULT 0 NOT NULL,
	"expected_start_time" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"start_time" timestamp (3) with time zone,
	"end_time" timestamp (3) with time zone,
	"worker_id" uuid,
	"lease_expires_at" timestamp (3) with time zone,
	"idempotency_key" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "flows" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "logs" (
	"flow_run_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"seq" integer NOT NULL,
	"workspace_id" uuid NOT NULL,
	"timestamp" timestamp (3) with time zone NOT NULL,
	"level" text NOT NULL,
	"message" text NOT NULL,
	"task_run_id" uuid,
	"stream" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "logs_flow_run_id_attempt_seq_pk" PRIMARY KEY("flow_run_id","attempt","seq")
);
--> statement-breakpoint
CREATE TABLE "signing_keys" (
	"kid" text PRIMARY KEY NOT NULL,
	"private_jwk" jsonb NOT NULL,
	"public_jwk" jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"retired_at" timestamp (3) with time zone
);
--> statement-breakpoint
CREATE TABLE "task_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"workspace_id" uuid NOT NULL,
	"flow_run_id" uuid NOT NULL,
	"flow_run_attempt" integer NOT NULL,
	"name" text NOT NULL,
	"task_key" text NOT NULL,
	"dynamic_key" text NOT NULL,
	"run_count" integer DEFAULT 1 NOT NULL,
	"cache_key" text,
	"state_type" text NOT NULL,
	"state_name" text NOT NULL,
	"state_message" text,
	"state_timestamp" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"state_data" jsonb,
	"start_time" timestamp (3) with time zone,
	"end_time" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "work_pools" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"paused" boolean DEFAULT false NOT NULL,
	"concurrency_limit" integer,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "work_queues" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"work_pool_id" uuid NOT NULL,
	"name" text NOT NULL,
	"priority" integer DEFAULT 1 NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"concurrency_limit" integer,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workers" (
	"workspace_id" uuid NOT NULL,
	"id" uuid NOT NULL,
	"work_pool_id" uuid NOT NULL,
	"name" text NOT NULL,
	"labels" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"capacity" integer NOT NULL,
	"api_key_id" uuid,
	"last_heartbeat_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workers_workspace_id_id_pk" PRIMARY KEY("workspace_id","id")
);
--> statement-breakpoint
CREATE TABLE "workspaces" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"slug" text NOT NULL,
	"name" text NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspaces_slug_unique" UNIQUE("slug")
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_flow_id_flows_id_fk" FOREIGN KEY ("flow_id") REFERENCES "public"."flows"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_work_pool_id_work_pools_id_fk" FOREIGN KEY ("work_pool_id") REFERENCES "public"."work_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_work_queue_id_work_queues_id_fk" FOREIGN KEY ("work_queue_id") REFERENCES "public"."work_queues"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_run_states" ADD CONSTRAINT "flow_run_states_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_run_states" ADD CONSTRAINT "flow_run_states_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD CONSTRAINT "flow_runs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD CONSTRAINT "flow_runs_flow_id_flows_id_fk" FOREIGN KEY ("flow_id") REFERENCES "public"."flows"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD CONSTRAINT "flow_runs_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD CONSTRAINT "flow_runs_work_pool_id_work_pools_id_fk" FOREIGN KEY ("work_pool_id") REFERENCES "public"."work_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_runs" ADD CONSTRAINT "flow_runs_work_queue_id_work_queues_id_fk" FOREIGN KEY ("work_queue_id") REFERENCES "public"."work_queues"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flows" ADD CONSTRAINT "flows_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "logs" ADD CONSTRAINT "logs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_runs" ADD CONSTRAINT "task_runs_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "task_runs" ADD CONSTRAINT "task_runs_flow_run_id_flow_runs_id_fk" FOREIGN KEY ("flow_run_id") REFERENCES "public"."flow_runs"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "work_pools" ADD CONSTRAINT "work_pools_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "work_queues" ADD CONSTRAINT "work_queues_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "work_queues" ADD CONSTRAINT "work_queues_work_pool_id_work_pools_id_fk" FOREIGN KEY ("work_pool_id") REFERENCES "public"."work_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workers" ADD CONSTRAINT "workers_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workers" ADD CONSTRAINT "workers_work_pool_id_work_pools_id_fk" FOREIGN KEY ("work_pool_id") REFERENCES "public"."work_pools"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workers" ADD CONSTRAINT "workers_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_key_hash_uq" ON "api_keys" USING btree ("key_hash");--> statement-breakpoint
CREATE INDEX "api_keys_workspace_idx" ON "api_keys" USING btree ("workspace_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "deployments_flow_name_uq" ON "deployments" USING btree ("flow_id","name");--> statement-breakpoint
CREATE INDEX "deployments_workspace_idx" ON "deployments" USING btree ("workspace_id");--> statement-breakpoint
CREATE UNIQUE INDEX "flow_run_states_id_uq" ON "flow_run_states" USING btree ("id");--> statement-breakpoint
CREATE UNIQUE INDEX "flow_run_states_transition_uq" ON "flow_run_states" USING btree ("flow_run_id","transition_id");--> statement-breakpoint
CREATE INDEX "flow_run_states_run_idx" ON "flow_run_states" USING btree ("flow_run_id","seq");--> statement-breakpoint
CREATE INDEX "flow_runs_claim_idx" ON "flow_runs" USING btree ("work_pool_id","expected_start_time") WHERE state_type = 'SCHEDULED';--> statement-breakpoint
CREATE INDEX "flow_runs_active_idx" ON "flow_runs" USING btree ("work_pool_id","work_queue_id") WHERE state_type IN ('PENDING', 'RUNNING', 'CANCELLING');--> statement-breakpoint
CREATE INDEX "flow_runs_lease_idx" ON "flow_runs" USING btree ("lease_expires_at") WHERE state_type IN ('PENDING', 'RUNNING', 'CANCELLING');--> statement-breakpoint
CREATE INDEX "flow_runs_list_idx" ON "flow_runs" USING btree ("workspace_id","created_at","id");--> statement-breakpoint
CREATE INDEX "flow_runs_deployment_idx" ON "flow_runs" USING btree ("deployment_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "flow_runs_idempotency_uq" ON "flow_runs" USING btree ("workspace_id","deployment_id","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "flows_workspace_name_uq" ON "flows" USING btree ("workspace_id","name");--> statement-breakpoint
CREATE INDEX "task_runs_flow_run_idx" ON "task_runs" USING btree ("flow_run_id","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "work_pools_workspace_name_uq" ON "work_pools" USING btree ("workspace_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "work_queues_pool_name_uq" ON "work_queues" USING btree ("work_pool_id","name");--> statement-breakpoint
CREATE INDEX "workers_pool_idx" ON "workers" USING btree ("work_pool_id","last_heartbeat_at");