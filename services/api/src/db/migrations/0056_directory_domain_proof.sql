-- A directory makes or links accounts only at addresses of domains its organisation proved
-- (organisation_domains.verified_at), or the account of someone who is already a person of the
-- organisation (docs/organisations.md, "Directory provisioning (SCIM)"). Anyone else it provisions is
-- kept as a **pending** record: `pending_email` is the address, no account is made, looked up or
-- linked, and `user_id` is an id of the directory's own that names no account. Its groups grant it
-- nothing. When the person, signed in with a verified account at that address, accepts what the
-- groups offer (GET /account/invitations), the record is linked to their account: `user_id` becomes
-- the account's, and `scim_id` keeps the id the directory knows the person by (null: the id is
-- `user_id`, as for every record before this). So directory_users.user_id and
-- directory_group_members.user_id no longer always name an account, and lose their foreign keys.
ALTER TABLE "directory_users" DROP CONSTRAINT "directory_users_user_id_users_id_fk";
--> statement-breakpoint
ALTER TABLE "directory_group_members" DROP CONSTRAINT "directory_group_members_user_id_users_id_fk";
--> statement-breakpoint
ALTER TABLE "directory_users" ADD COLUMN "pending_email" text;
--> statement-breakpoint
ALTER TABLE "directory_users" ADD COLUMN "scim_id" uuid;
--> statement-breakpoint
ALTER TABLE "directory_users" ADD CONSTRAINT "directory_users_pending_ck" CHECK (pending_email IS NULL OR (scim_id IS NULL AND NOT account_made));
--> statement-breakpoint
-- One record per address in an organisation; a person's offers are found by their address across organisations.
CREATE UNIQUE INDEX "directory_users_pending_email_uq" ON "directory_users" USING btree ("pending_email","organisation_id") WHERE pending_email IS NOT NULL;
--> statement-breakpoint
CREATE UNIQUE INDEX "directory_users_scim_id_uq" ON "directory_users" USING btree ("organisation_id","scim_id") WHERE scim_id IS NOT NULL;
