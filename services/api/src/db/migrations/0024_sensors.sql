-- Sensors: functions in a deployment's code that a worker of the deployment's pool evaluates on an
-- interval. A sensor row holds the stored cursor, the next due time and the lease of the tick being
-- evaluated; each evaluation is a sensor_ticks row.
CREATE TABLE "sensors" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"deployment_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"interval_seconds" integer NOT NULL,
	"paused" boolean DEFAULT false NOT NULL,
	"cursor" text,
	"next_tick_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"lease_tick_id" uuid,
	"lease_worker_id" uuid,
	"lease_key_id" uuid,
	"lease_expires_at" timestamp (3) with time zone,
	"last_tick_id" uuid,
	"last_tick_status" text,
	"last_tick_at" timestamp (3) with time zone,
	"last_tick_run_count" integer DEFAULT 0 NOT NULL,
	"last_tick_skip_reason" text,
	"last_tick_error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
CREATE TABLE "sensor_ticks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"sensor_id" uuid NOT NULL,
	"status" text NOT NULL,
	"started_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"ended_at" timestamp (3) with time zone,
	"worker_id" uuid,
	"runs" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"skip_reason" text,
	"error" text,
	"cursor_before" text,
	"cursor_after" text,
	"logs" jsonb DEFAULT '[]'::jsonb NOT NULL
);--> statement-breakpoint
ALTER TABLE "sensors" ADD CONSTRAINT "sensors_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensors" ADD CONSTRAINT "sensors_deployment_id_deployments_id_fk" FOREIGN KEY ("deployment_id") REFERENCES "public"."deployments"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensor_ticks" ADD CONSTRAINT "sensor_ticks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "sensor_ticks" ADD CONSTRAINT "sensor_ticks_sensor_id_sensors_id_fk" FOREIGN KEY ("sensor_id") REFERENCES "public"."sensors"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "sensors_deployment_name_uq" ON "sensors" USING btree ("deployment_id","name");--> statement-breakpoint
CREATE INDEX "sensors_workspace_idx" ON "sensors" USING btree ("workspace_id","name","id");--> statement-breakpoint
CREATE INDEX "sensors_due_idx" ON "sensors" USING btree ("next_tick_at") WHERE NOT paused;--> statement-breakpoint
CREATE INDEX "sensor_ticks_sensor_idx" ON "sensor_ticks" USING btree ("sensor_id","started_at","id");
