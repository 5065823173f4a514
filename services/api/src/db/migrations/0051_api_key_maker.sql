-- Who an API key answers to: the person whose session made it, or the maker of the key that made it.
-- Removing that person from the workspace, from the organisation, or deprovisioning them through the
-- directory revokes the keys they made (db/credentials.ts). Keys from before this column have no maker
-- and stay until revoked by hand. The index serves those revocations, which look keys up by maker.
ALTER TABLE "api_keys" ADD COLUMN "created_by" uuid;
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "api_keys_created_by_idx" ON "api_keys" USING btree ("created_by") WHERE created_by IS NOT NULL;
