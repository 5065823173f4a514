-- Inbound webhooks: a secret URL token (only its sha256 is kept) and a signing secret (sealed with
-- OUTPOST_SECRET_KEY when the server has one) authenticate a delivery; the template decides which
-- fields of the body become the event.
CREATE TABLE "event_webhooks" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"token_hash" text NOT NULL,
	"secret_sealed" text NOT NULL,
	"signature_header" text DEFAULT 'x-outpost-signature' NOT NULL,
	"template" jsonb NOT NULL,
	"enabled" boolean DEFAULT true NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp (3) with time zone
);
--> statement-breakpoint
ALTER TABLE "event_webhooks" ADD CONSTRAINT "event_webhooks_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "event_webhooks_name_uq" ON "event_webhooks" USING btree ("workspace_id","name");--> statement-breakpoint
CREATE UNIQUE INDEX "event_webhooks_token_uq" ON "event_webhooks" USING btree ("token_hash");
