-- Notification channels: where a notify action sends (a signed webhook, a Slack incoming webhook, or
-- email). The secret (the webhook's signing secret, or the Slack URL, which is itself the credential)
-- is sealed with the server's secret box, bound to the channel id.
CREATE TABLE "notification_channels" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "workspace_id" uuid NOT NULL CONSTRAINT "notification_channels_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "name" text NOT NULL,
  "kind" text NOT NULL,
  "url" text,
  "recipients" text[] NOT NULL DEFAULT '{}'::text[],
  "secret_encrypted" text,
  "subject_template" text,
  "body_template" text,
  "enabled" boolean NOT NULL DEFAULT true,
  "created_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "updated_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  CONSTRAINT "notification_channels_kind_ck" CHECK ("kind" IN ('webhook', 'slack', 'email'))
);--> statement-breakpoint
CREATE UNIQUE INDEX "notification_channels_name_uq" ON "notification_channels" ("workspace_id", "name");--> statement-breakpoint
-- The outbox: one row per notification to send, written in the transaction that decided to send it
-- (an automation's firing), delivered by the notifications loop with retries, DEAD after the last.
CREATE TABLE "notification_deliveries" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  "workspace_id" uuid NOT NULL CONSTRAINT "notification_deliveries_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "channel_id" uuid CONSTRAINT "notification_deliveries_channel_id_notification_channels_id_fk" REFERENCES "notification_channels"("id") ON DELETE SET NULL,
  "channel_name" text NOT NULL,
  "automation_id" uuid,
  "firing_id" uuid,
  "event_id" uuid,
  "idempotency_key" text NOT NULL,
  "subject" text NOT NULL,
  "body" text NOT NULL,
  "payload" jsonb NOT NULL DEFAULT '{}'::jsonb,
  "status" text NOT NULL DEFAULT 'PENDING',
  "attempts" integer NOT NULL DEFAULT 0,
  "next_attempt_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "last_error" text,
  "sent_at" timestamp(3) with time zone,
  "created_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "updated_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  CONSTRAINT "notification_deliveries_status_ck" CHECK ("status" IN ('PENDING', 'SENT', 'DEAD'))
);--> statement-breakpoint
CREATE UNIQUE INDEX "notification_deliveries_key_uq" ON "notification_deliveries" ("workspace_id", "idempotency_key");--> statement-breakpoint
CREATE INDEX "notification_deliveries_list_idx" ON "notification_deliveries" ("workspace_id", "created_at", "id");--> statement-breakpoint
CREATE INDEX "notification_deliveries_due_idx" ON "notification_deliveries" ("next_attempt_at") WHERE "status" = 'PENDING';--> statement-breakpoint
-- A new or retried delivery wakes the notifications loop at once.
CREATE FUNCTION "notification_deliveries_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outpost_notifications', '');
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "notification_deliveries_notify" AFTER INSERT OR UPDATE OF "status" ON "notification_deliveries" FOR EACH STATEMENT EXECUTE FUNCTION "notification_deliveries_notify"();--> statement-breakpoint
-- The last status of each worker and pool the worker-status loop reported as an event, so every
-- change is one event, whichever replica sees it.
CREATE TABLE "reported_statuses" (
  "workspace_id" uuid NOT NULL CONSTRAINT "reported_statuses_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "resource_kind" text NOT NULL,
  "resource_id" text NOT NULL,
  "status" text NOT NULL,
  "reported_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  CONSTRAINT "reported_statuses_workspace_id_resource_kind_resource_id_pk" PRIMARY KEY ("workspace_id", "resource_kind", "resource_id"),
  CONSTRAINT "reported_statuses_kind_ck" CHECK ("resource_kind" IN ('worker', 'work-pool'))
);
