-- Per-workspace quotas: an operator's overrides of the defaults (services/api/src/quotas/quotas.ts),
-- the events each workspace stored per UTC day (counted as they are written, so the quota costs one
-- row per workspace and day, never a count of the ledger), and who created a workspace through the
-- API (each account may create a bounded number).
CREATE TABLE "workspace_quotas" (
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"limit" integer NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "workspace_quotas_workspace_id_name_pk" PRIMARY KEY("workspace_id","name"),
	CONSTRAINT "workspace_quotas_limit_ck" CHECK ("limit" >= 0)
);
--> statement-breakpoint
CREATE TABLE "workspace_event_counts" (
	"workspace_id" uuid NOT NULL,
	"day" timestamp (3) with time zone NOT NULL,
	"count" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "workspace_event_counts_workspace_id_day_pk" PRIMARY KEY("workspace_id","day")
);
--> statement-breakpoint
ALTER TABLE "workspaces" ADD COLUMN "created_by" uuid;--> statement-breakpoint
ALTER TABLE "workspace_quotas" ADD CONSTRAINT "workspace_quotas_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspace_event_counts" ADD CONSTRAINT "workspace_event_counts_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspaces" ADD CONSTRAINT "workspaces_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "workspaces_created_by_idx" ON "workspaces" USING btree ("created_by") WHERE "created_by" IS NOT NULL;
