-- An organisation's own single sign-on (docs/organisations.md, "Single sign-on for the organisation").
--
-- `organisation_sso` is its OpenID Connect provider: trusted only for verified addresses of
-- `allowed_domains`, and across the organisation's workspaces only. `organisation_sso_group_roles`
-- maps a value of the ID token's groups claim (`groups_claim`) to a role in a workspace of the
-- organisation (never owner). `organisation_sso_groups` keeps each person's groups as their last
-- sign-in listed them: db/directory.ts applyDirectoryRoles counts them beside directory groups, so a
-- changed mapping applies at once to everyone who signed in, without waiting for their next sign-in.
-- A sign-in under way (`oidc_logins`) is now a workspace's or the organisation's; for the latter,
-- `workspace_id` is the workspace asked for, if any. `organisation_domains` are the allowed domains
-- with what proves them: a TXT record holding the token at `_outpost-challenge.<domain>`. Only a
-- proven domain signs anyone in, and one organisation at a time holds a proven domain, so no
-- organisation makes or opens accounts at another's addresses. A person whose groups the provider listed stays
-- the organisation's `member` when their last membership ends (a mapping stopped granting it), as an
-- active person of the directory does: the provider still vouches for them, and a later mapping, or
-- their next sign-in, gives them workspaces again. Removing them from the organisation forgets
-- their groups (db/organisations.ts deleteOrganisationMember).
CREATE TABLE "organisation_sso" (
	"organisation_id" uuid PRIMARY KEY NOT NULL,
	"issuer" text NOT NULL,
	"client_id" text NOT NULL,
	"client_secret_encrypted" text,
	"allowed_domains" text[] NOT NULL,
	"groups_claim" text DEFAULT 'groups' NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "organisation_sso_group_roles" (
	"organisation_id" uuid NOT NULL,
	"group_value" text NOT NULL,
	"workspace_id" uuid NOT NULL,
	"role" text NOT NULL,
	CONSTRAINT "organisation_sso_group_roles_organisation_id_group_value_workspace_id_pk" PRIMARY KEY("organisation_id","group_value","workspace_id"),
	CONSTRAINT "organisation_sso_group_roles_role_ck" CHECK (role IN ('admin', 'developer', 'runner', 'viewer'))
);
--> statement-breakpoint
CREATE TABLE "organisation_sso_groups" (
	"organisation_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"group_value" text NOT NULL,
	CONSTRAINT "organisation_sso_groups_organisation_id_user_id_group_value_pk" PRIMARY KEY("organisation_id","user_id","group_value")
);
--> statement-breakpoint
ALTER TABLE "organisation_sso" ADD CONSTRAINT "organisation_sso_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "organisation_sso_group_roles" ADD CONSTRAINT "organisation_sso_group_roles_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "organisation_sso_group_roles" ADD CONSTRAINT "organisation_sso_group_roles_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "organisation_sso_groups" ADD CONSTRAINT "organisation_sso_groups_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "organisation_sso_groups" ADD CONSTRAINT "organisation_sso_groups_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
CREATE INDEX "organisation_sso_groups_group_idx" ON "organisation_sso_groups" USING btree ("organisation_id","group_value");
--> statement-breakpoint
CREATE INDEX "organisation_sso_group_roles_workspace_idx" ON "organisation_sso_group_roles" USING btree ("workspace_id");
--> statement-breakpoint
ALTER TABLE "oidc_logins" ALTER COLUMN "workspace_id" DROP NOT NULL;
--> statement-breakpoint
ALTER TABLE "oidc_logins" ADD COLUMN "organisation_id" uuid;
--> statement-breakpoint
ALTER TABLE "oidc_logins" ADD CONSTRAINT "oidc_logins_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
ALTER TABLE "oidc_logins" ADD CONSTRAINT "oidc_logins_whose_ck" CHECK (organisation_id IS NOT NULL OR workspace_id IS NOT NULL);
--> statement-breakpoint
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
      WHERE du.organisation_id = w.organisation_id AND du.user_id = OLD.user_id AND du.active)
    AND NOT EXISTS (
      SELECT 1 FROM organisation_sso_groups sg
      WHERE sg.organisation_id = w.organisation_id AND sg.user_id = OLD.user_id);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TABLE "organisation_domains" (
	"organisation_id" uuid NOT NULL,
	"domain" text NOT NULL,
	"token" text NOT NULL,
	"verified_at" timestamp (3) with time zone,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organisation_domains_organisation_id_domain_pk" PRIMARY KEY("organisation_id","domain")
);
--> statement-breakpoint
ALTER TABLE "organisation_domains" ADD CONSTRAINT "organisation_domains_organisation_id_organisations_id_fk" FOREIGN KEY ("organisation_id") REFERENCES "public"."organisations"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
CREATE UNIQUE INDEX "organisation_domains_verified_uq" ON "organisation_domains" USING btree ("domain") WHERE verified_at IS NOT NULL;
--> statement-breakpoint
-- The membership triggers keep their cached plans whatever the transaction sets: the directory's
-- set-based statements force custom plans for their own `= ANY($ids)` filters (db/directory.ts
-- withLinearPlans), and under that setting each of these one-row statements was planned again for
-- every membership a statement changed (30,000 removed memberships: 10 s instead of 0.7 s).
ALTER FUNCTION organisation_member_after_membership() SET plan_cache_mode = 'auto';
--> statement-breakpoint
ALTER FUNCTION organisation_member_of_membership() SET plan_cache_mode = 'auto';
