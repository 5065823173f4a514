-- A one-time sign-in link may open a person's session rather than a bare role: the local launcher
-- (`npm start`) prints one for its owner@localhost, so the dashboard opens with the Organisation pages.
-- A link without a person opens a session with its role, as before. The person's role is read from
-- their membership when the link is used; a deleted account takes its unused links with it.
ALTER TABLE "sign_in_tokens" ADD COLUMN "user_id" uuid;--> statement-breakpoint
ALTER TABLE "sign_in_tokens" ADD CONSTRAINT "sign_in_tokens_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE cascade ON UPDATE no action;
