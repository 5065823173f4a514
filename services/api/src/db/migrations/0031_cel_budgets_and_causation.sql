-- Budgets for what tenants make the automations loop evaluate (DESIGN.md invariant 7).
-- An automation whose expressions keep running past their deadline is turned off, with the reason.
ALTER TABLE "automations" ADD COLUMN "budget_failures" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "automations" ADD COLUMN "disabled_reason" text;--> statement-breakpoint
-- Why the last delivery an inbound webhook refused could not become an event (its template failed, or ran past its budget).
ALTER TABLE "event_webhooks" ADD COLUMN "last_error" text;--> statement-breakpoint
-- Events an automation could not be evaluated on (past its budget) or that the loop stepped over
-- after rounds on them kept failing: listed to the workspace, never evaluated again.
CREATE TABLE "automation_quarantine" (
  "id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
  "workspace_id" uuid NOT NULL CONSTRAINT "automation_quarantine_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "event_id" uuid NOT NULL,
  "event_kind" text NOT NULL,
  "automation_id" uuid CONSTRAINT "automation_quarantine_automation_id_automations_id_fk" REFERENCES "automations"("id") ON DELETE CASCADE,
  "reason" text NOT NULL,
  "created_at" timestamp(3) with time zone DEFAULT now() NOT NULL
);--> statement-breakpoint
CREATE INDEX "automation_quarantine_list_idx" ON "automation_quarantine" ("workspace_id", "created_at", "id");--> statement-breakpoint
-- Rounds begun at the cursor without committing: a round that keeps dying on the same events
-- narrows to one event and then steps over it.
ALTER TABLE "automation_cursor" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
-- The automations whose actions made or changed a run, oldest first: its events carry the chain,
-- so automations that trigger themselves or each other stop at a depth.
ALTER TABLE "flow_runs" ADD COLUMN "causation" jsonb;--> statement-breakpoint
CREATE INDEX "flow_runs_caused_idx" ON "flow_runs" ("workspace_id", "created_at") WHERE "causation" IS NOT NULL;--> statement-breakpoint
CREATE OR REPLACE FUNCTION "events_from_flow_run_states"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("workspace_id", "occurred_at", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  SELECT s."workspace_id", s."timestamp", 'flow-run.' || lower(s."type"), 'flow-run', s."flow_run_id"::text, r."name",
    jsonb_path_query_array(jsonb_build_array(
      jsonb_build_object('kind', 'flow', 'id', f."id"::text, 'name', f."name"),
      CASE WHEN d."id" IS NOT NULL THEN jsonb_build_object('kind', 'deployment', 'id', d."id"::text, 'name', f."name" || '/' || d."name") END,
      CASE WHEN p."id" IS NOT NULL THEN jsonb_build_object('kind', 'work-pool', 'id', p."id"::text, 'name', p."name") END,
      CASE WHEN r."parent_flow_run_id" IS NOT NULL THEN jsonb_build_object('kind', 'flow-run', 'id', r."parent_flow_run_id"::text, 'name', NULL) END
    ), '$[*] ? (@ != null)'),
    jsonb_build_object(
      'state', jsonb_build_object('type', s."type", 'name', s."name", 'message', left(s."message", 1000)),
      'attempt', s."attempt",
      'runName', r."name",
      'flow', f."name",
      'deployment', CASE WHEN d."id" IS NOT NULL THEN f."name" || '/' || d."name" END,
      'deploymentId', d."id",
      'workPool', p."name",
      'tags', to_jsonb(r."tags"),
      'partitionKey', r."partition_key",
      'parentFlowRunId', r."parent_flow_run_id"
    ) || CASE WHEN r."causation" IS NOT NULL THEN jsonb_build_object('causation', r."causation") ELSE '{}'::jsonb END,
    'system'
  FROM "new_states" s
  JOIN "flow_runs" r ON r."id" = s."flow_run_id"
  JOIN "flows" f ON f."id" = r."flow_id"
  LEFT JOIN "deployments" d ON d."id" = r."deployment_id"
  LEFT JOIN "work_pools" p ON p."id" = r."work_pool_id"
  ORDER BY s."seq";
  RETURN NULL;
END
$$;
