-- Automations: a trigger over the event ledger and the actions it fires. An automation declared in
-- a deployment's `triggers:` belongs to it (deployment_id) and is replaced by name on redeploy.
CREATE TABLE "automations" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "workspace_id" uuid NOT NULL CONSTRAINT "automations_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "deployment_id" uuid CONSTRAINT "automations_deployment_id_deployments_id_fk" REFERENCES "deployments"("id") ON DELETE CASCADE,
  "name" text NOT NULL,
  "description" text,
  "enabled" boolean DEFAULT true NOT NULL,
  "trigger" jsonb NOT NULL,
  "actions" jsonb NOT NULL,
  "created_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  "updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  "last_fired_at" timestamp(3) with time zone,
  "last_error" text
);--> statement-breakpoint
CREATE UNIQUE INDEX "automations_workspace_name_uq" ON "automations" ("workspace_id", "name") WHERE "deployment_id" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "automations_deployment_name_uq" ON "automations" ("deployment_id", "name") WHERE "deployment_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "automations_enabled_idx" ON "automations" ("workspace_id") WHERE "enabled";--> statement-breakpoint
-- One firing per (automation, key): the key names what fired it (`event:<id>`, `window:<group>:<opened>`),
-- so a round redone after a crash finds it and fires nothing twice.
CREATE TABLE "automation_firings" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "workspace_id" uuid NOT NULL CONSTRAINT "automation_firings_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "automation_id" uuid NOT NULL CONSTRAINT "automation_firings_automation_id_automations_id_fk" REFERENCES "automations"("id") ON DELETE CASCADE,
  "key" text NOT NULL,
  "fired_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  "event_ids" uuid[] DEFAULT '{}' NOT NULL,
  "actions" jsonb DEFAULT '[]'::jsonb NOT NULL
);--> statement-breakpoint
CREATE UNIQUE INDEX "automation_firings_key_uq" ON "automation_firings" ("automation_id", "key");--> statement-breakpoint
CREATE INDEX "automation_firings_list_idx" ON "automation_firings" ("automation_id", "fired_at", "id");--> statement-breakpoint
-- What a trigger remembers between events, per group: threshold counts, cooldowns, compound and
-- sequence progress.
CREATE TABLE "automation_state" (
  "automation_id" uuid NOT NULL CONSTRAINT "automation_state_automation_id_automations_id_fk" REFERENCES "automations"("id") ON DELETE CASCADE,
  "kind" text NOT NULL,
  "group_key" text NOT NULL,
  "data" jsonb NOT NULL,
  "updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
  CONSTRAINT "automation_state_pk" PRIMARY KEY ("automation_id", "kind", "group_key")
);--> statement-breakpoint
-- Proactive windows: opened by an event or a cron time, met by the expected event, or fired once
-- when they close without it.
CREATE TABLE "automation_windows" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "automation_id" uuid NOT NULL CONSTRAINT "automation_windows_automation_id_automations_id_fk" REFERENCES "automations"("id") ON DELETE CASCADE,
  "group_key" text NOT NULL,
  "opened_at" timestamp(3) with time zone NOT NULL,
  "closes_at" timestamp(3) with time zone NOT NULL,
  "opening_event" jsonb,
  "status" text DEFAULT 'OPEN' NOT NULL,
  CONSTRAINT "automation_windows_status_ck" CHECK ("status" IN ('OPEN', 'MET', 'FIRED'))
);--> statement-breakpoint
CREATE UNIQUE INDEX "automation_windows_uq" ON "automation_windows" ("automation_id", "group_key", "opened_at");--> statement-breakpoint
CREATE INDEX "automation_windows_open_idx" ON "automation_windows" ("closes_at") WHERE "status" = 'OPEN';--> statement-breakpoint
-- Where the automations loop stands in the ledger; updated in the transaction of the round's effects.
CREATE TABLE "automation_cursor" (
  "name" text PRIMARY KEY NOT NULL,
  "txid" xid8 NOT NULL,
  "seq" bigint NOT NULL,
  "updated_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);
