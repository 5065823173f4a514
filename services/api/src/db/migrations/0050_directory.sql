-- An organisation's directory (SCIM 2.0, docs/organisations.md "Directory provisioning"): the people
-- and groups its identity provider provisions, and the workspace roles the groups grant.
--
-- `directory_users` is the organisation's view of a global account (userName, externalId, active and
-- the SCIM attributes as sent, bounded in size); the account itself stays the person's own.
-- `directory_groups` and `directory_group_members` are the provider's groups; `directory_group_roles`
-- maps a group to a role in a workspace of the organisation (never owner). A membership records where
-- it came from: `direct` (by hand, or an invitation), which the directory never touches, or `directory`,
-- which db/directory.ts applyDirectoryRoles keeps equal to the highest role of the person's groups.
-- `account_made` says the directory made the account: only such an account becomes a person of the
-- organisation on being provisioned; an account its person made elsewhere is offered what the groups
-- grant as invitations, which its person accepts (or not).
-- Names are unique per organisation regardless of case, as SCIM's caseExact=false for userName and
-- displayName says, hence the expression indexes. Every existing membership was given by hand.
CREATE TABLE "directory_users" (
	"organisation_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"user_name" text NOT NULL,
	"external_id" text,
	"active" boolean DEFAULT true NOT NULL,
	"account_made" boolean DEFAULT false NOT NULL,
	"attributes" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "directory_users_organisation_id_user_id_pk" PRIMARY KEY("organisation_id","user_id"),
	CONSTRAINT "directory_users_attributes_ck" CHECK (octet_length(attributes::text) <= 65536)
);
--> statement-breakpoint
CREATE TABLE "directory_groups" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"organisation_id" uuid NOT NULL,
	"display_name" text NOT NULL,
	"external_id" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "directory_group_members" (
	"group_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	CONSTRAINT "directory_group_members_group_id_user_id_pk" PRIMARY KEY("group_id","user_id")
);
--> statement-breakpoint
CREATE TABLE "directory_group_roles" (
	"group_id" uuid NOT NULL,
	"workspace_id" uuid NOT NULL,
	"role" text NOT NULL,
	CONSTRAINT "directory_group_roles_group_id_workspace_id_pk" PRIMARY KEY("group_id","workspace_id"),
	CONSTRAINT "directory_group_roles_role_ck" CHECK (role IN ('admin', 'developer', 'runner', 'viewer'))
);
--> statement-breakpoint
ALTER TABLE "memberships" ADD COLUMN "source" text DEFAULT 'direct' NOT NULL;
--> statement-breakpoint
ALTER TABLE "memberships" ADD CONSTRAINT "memberships_source_ck" CHECK (source IN ('direct', 'directory'));
--> statement-breakpoint
ALTER TABLE "directory_users" ADD CONSTRAINT "directory_users_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "directory_users" ADD CONSTRAINT "directory_users_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "directory_groups" ADD CONSTRAINT "directory_groups_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "directory_group_members" ADD CONSTRAINT "directory_group_members_group_id_directory_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."directory_groups"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "directory_group_members" ADD CONSTRAINT "directory_group_members_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "directory_group_roles" ADD CONSTRAINT "directory_group_roles_group_id_directory_groups_id_fk" FOREIGN KEY ("group_id") REFERENCES "public"."directory_groups"("id") ON DELETE cascade ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "directory_group_roles" ADD CONSTRAINT "directory_group_roles_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
CREATE UNIQUE INDEX "directory_users_user_name_uq" ON "directory_users" USING btree ("organisation_id", lower(user_name));
--> statement-breakpoint
CREATE INDEX "directory_users_external_id_idx" ON "directory_users" USING btree ("organisation_id","external_id") WHERE external_id IS NOT NULL;
--> statement-breakpoint
CREATE INDEX "directory_users_user_idx" ON "directory_users" USING btree ("user_id");
--> statement-breakpoint
CREATE UNIQUE INDEX "directory_groups_display_name_uq" ON "directory_groups" USING btree ("organisation_id", lower(display_name));
--> statement-breakpoint
CREATE INDEX "directory_groups_external_id_idx" ON "directory_groups" USING btree ("organisation_id","external_id") WHERE external_id IS NOT NULL;
--> statement-breakpoint
CREATE INDEX "directory_group_members_user_idx" ON "directory_group_members" USING btree ("user_id");
--> statement-breakpoint
CREATE INDEX "directory_group_roles_workspace_idx" ON "directory_group_roles" USING btree ("workspace_id");
--> statement-breakpoint
-- The organisation's people are the people of its workspaces and, now, the people its directory
-- provisions: an active person of the directory stays a `member` when their last membership ends
-- (a group that granted it was emptied), as provisioning made them one. Deprovisioning and deleting
-- them take their organisation role away themselves.
CREATE OR REPLACE FUNCTION organisation_member_after_membership() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM organisation_members om
  USING workspaces w
  WHERE w.id = OLD.workspace_id AND om.organisation_id = w.organisation_id
    AND om.user_id = OLD.user_id AND om.role = 'member'
    AND NOT EXISTS (
      SELECT 1 FROM memberships m JOIN workspaces ow ON ow.id = m.workspace_id
      WHERE m.user_id = OLD.user_id AND ow.organisation_id = w.organisation_id AND m.state = 'active')
    AND NOT EXISTS (
      SELECT 1 FROM directory_users du
      WHERE du.organisation_id = w.organisation_id AND du.user_id = OLD.user_id AND du.active);
  RETURN NULL;
END $$;
