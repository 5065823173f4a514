-- An organisation's own limits on its workspaces' quotas (PUT /organisations/:org/workspaces/:workspace/quotas/:name),
-- kept apart from the operator's overrides in `workspace_quotas`: a workspace is held to the lower of
-- the two (services/api/src/quotas/quotas.ts), so an organisation can lower a quota and never raise it,
-- and removing its limit leaves the operator's as it was. At most one row per workspace and quota
-- (the API takes only the names it knows), so a workspace holds at most as many rows as there are quotas.
CREATE TABLE "organisation_quota_limits" (
	"workspace_id" uuid NOT NULL,
	"name" text NOT NULL,
	"limit" integer NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "organisation_quota_limits_workspace_id_name_pk" PRIMARY KEY("workspace_id","name"),
	CONSTRAINT "organisation_quota_limits_limit_ck" CHECK ("limit" >= 0)
);
--> statement-breakpoint
ALTER TABLE "organisation_quota_limits" ADD CONSTRAINT "organisation_quota_limits_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE no action ON UPDATE no action;
