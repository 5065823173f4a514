CREATE TABLE "flow_run_attempts" (
	"workspace_id" uuid NOT NULL,
	"flow_run_id" uuid NOT NULL,
	"attempt" integer NOT NULL,
	"worker_id" uuid NOT NULL,
	"worker_name" text,
	"api_key_id" uuid,
	"claimed_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "flow_run_attempts_workspace_id_flow_run_id_attempt_pk" PRIMARY KEY("workspace_id","flow_run_id","attempt")
);
--> statement-breakpoint
CREATE TABLE "loop_marks" (
	"name" text PRIMARY KEY NOT NULL,
	"ticked_at" timestamp (3) with time zone NOT NULL
);
--> statement-breakpoint
ALTER TABLE "workers" ADD COLUMN "stopped_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD CONSTRAINT "flow_run_attempts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "flow_run_attempts" ADD CONSTRAINT "flow_run_attempts_api_key_id_api_keys_id_fk" FOREIGN KEY ("api_key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "workers_pool_name_idx" ON "workers" USING btree ("work_pool_id","name");