-- Mail a workspace sends: external recipients confirm by a link, and every message counts against
-- the workspace's hourly quota (counted here, so it holds across replicas). Confirmation mails are
-- counted per address and day too, so the confirmation itself cannot be used to flood an address.
CREATE TABLE "mail_recipients" (
	"workspace_id" uuid NOT NULL,
	"address" text NOT NULL,
	"token_hash" text,
	"token_expires_at" timestamp (3) with time zone,
	"confirmed_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mail_recipients_workspace_id_address_pk" PRIMARY KEY("workspace_id","address")
);
--> statement-breakpoint
CREATE TABLE "mail_confirmation_sends" (
	"address" text NOT NULL,
	"day" timestamp (3) with time zone NOT NULL,
	"sent" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "mail_confirmation_sends_address_day_pk" PRIMARY KEY("address","day")
);
--> statement-breakpoint
CREATE TABLE "mail_usage" (
	"workspace_id" uuid NOT NULL,
	"hour" timestamp (3) with time zone NOT NULL,
	"sent" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "mail_usage_workspace_id_hour_pk" PRIMARY KEY("workspace_id","hour")
);
--> statement-breakpoint
ALTER TABLE "mail_recipients" ADD CONSTRAINT "mail_recipients_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mail_usage" ADD CONSTRAINT "mail_usage_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "mail_recipients_token_uq" ON "mail_recipients" USING btree ("token_hash");--> statement-breakpoint
-- Completing a token looks for any wait that asked for it (resolved ones too), not only waiting ones.
CREATE INDEX "waits_token_any_idx" ON "waits" USING btree ("workspace_id","token") WHERE "token" IS NOT NULL;
