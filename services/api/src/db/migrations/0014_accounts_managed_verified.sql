CREATE TABLE "email_tokens" (
	"token_hash" text PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"email" text NOT NULL,
	"workspace_id" uuid,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"used_at" timestamp (3) with time zone
);
--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "state" text DEFAULT 'active' NOT NULL;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "email_verified_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "users" ADD COLUMN "managed_by" uuid;--> statement-breakpoint
ALTER TABLE "email_tokens" ADD CONSTRAINT "email_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "email_tokens" ADD CONSTRAINT "email_tokens_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "email_tokens_user_idx" ON "email_tokens" USING btree ("user_id");--> statement-breakpoint
CREATE INDEX "email_tokens_expiry_idx" ON "email_tokens" USING btree ("expires_at");--> statement-breakpoint
ALTER TABLE "users" ADD CONSTRAINT "users_managed_by_workspaces_id_fk" FOREIGN KEY ("managed_by") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
-- Existing accounts. One that signed in with single sign-on proved its address to an identity
-- provider (an identity is linked only from a verified email): it is verified.
UPDATE "users" u SET "email_verified_at" = now()
WHERE EXISTS (SELECT 1 FROM "user_identities" i WHERE i."user_id" = u."id");--> statement-breakpoint
-- Every other account is managed by the workspace it joined first, whose admin may have set its password…
UPDATE "users" u SET "managed_by" = (
  SELECT m."workspace_id" FROM "memberships" m WHERE m."user_id" = u."id" ORDER BY m."created_at", m."workspace_id" LIMIT 1)
WHERE u."email_verified_at" IS NULL;--> statement-breakpoint
-- …and its memberships of other workspaces become invitations, accepted once the person proves the address.
UPDATE "memberships" m SET "state" = 'invited', "updated_at" = now()
FROM "users" u
WHERE u."id" = m."user_id" AND u."email_verified_at" IS NULL AND m."workspace_id" IS DISTINCT FROM u."managed_by";--> statement-breakpoint
-- Sessions in those workspaces end, and setup tokens of any other workspace than the managing one stop working.
UPDATE "sessions" s SET "revoked_at" = now()
FROM "memberships" m
WHERE m."user_id" = s."user_id" AND m."workspace_id" = s."workspace_id" AND m."state" = 'invited' AND s."revoked_at" IS NULL;--> statement-breakpoint
UPDATE "password_setup_tokens" t SET "used_at" = now()
FROM "users" u
WHERE u."id" = t."user_id" AND t."used_at" IS NULL
  AND (u."email_verified_at" IS NOT NULL OR t."workspace_id" IS DISTINCT FROM u."managed_by");
