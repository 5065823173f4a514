-- The event ledger: append-only, one row per thing that happened in a workspace. System events are
-- written here by triggers, in the transaction of the change they describe. Readers that must see
-- every event once (automations, waits) read in (txid, seq) order below the oldest running
-- transaction, so an event committed late never sorts before one already read.
CREATE TABLE "events" (
  "seq" bigserial PRIMARY KEY,
  "id" uuid NOT NULL DEFAULT gen_random_uuid(),
  "workspace_id" uuid NOT NULL CONSTRAINT "events_workspace_id_workspaces_id_fk" REFERENCES "workspaces"("id"),
  "occurred_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "received_at" timestamp(3) with time zone NOT NULL DEFAULT now(),
  "kind" text NOT NULL,
  "resource_kind" text NOT NULL,
  "resource_id" text NOT NULL,
  "resource_name" text,
  "related" jsonb NOT NULL DEFAULT '[]'::jsonb,
  "payload" jsonb NOT NULL DEFAULT '{}'::jsonb,
  "source" text NOT NULL,
  "source_id" text,
  "txid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
  CONSTRAINT "events_source_ck" CHECK ("source" IN ('system', 'api', 'run', 'webhook', 'sensor'))
);--> statement-breakpoint
CREATE UNIQUE INDEX "events_id_uq" ON "events" ("workspace_id", "id");--> statement-breakpoint
CREATE INDEX "events_workspace_idx" ON "events" ("workspace_id", "seq");--> statement-breakpoint
CREATE INDEX "events_kind_idx" ON "events" ("workspace_id", "kind", "seq");--> statement-breakpoint
CREATE INDEX "events_resource_idx" ON "events" ("workspace_id", "resource_id", "seq");--> statement-breakpoint
CREATE INDEX "events_related_idx" ON "events" USING gin ("related" jsonb_path_ops);--> statement-breakpoint
CREATE INDEX "events_commit_order_idx" ON "events" ("txid", "seq");--> statement-breakpoint
CREATE INDEX "events_received_idx" ON "events" ("received_at");--> statement-breakpoint
-- Append-only: retention deletes, nothing updates.
CREATE FUNCTION "events_append_only"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'events are append-only';
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_append_only" BEFORE UPDATE ON "events" FOR EACH ROW EXECUTE FUNCTION "events_append_only"();--> statement-breakpoint
-- One wake-up per transaction that wrote events (NOTIFY folds identical payloads).
CREATE FUNCTION "events_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outpost_events', '');
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_notify" AFTER INSERT ON "events" FOR EACH STATEMENT EXECUTE FUNCTION "events_notify"();--> statement-breakpoint
-- A flow run's state: one event per state row, with the run's flow, deployment and pool related.
CREATE FUNCTION "events_from_flow_run_states"() RETURNS trigger LANGUAGE plpgsql AS $$
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
    ),
    'system'
  FROM "new_states" s
  JOIN "flow_runs" r ON r."id" = s."flow_run_id"
  JOIN "flows" f ON f."id" = r."flow_id"
  LEFT JOIN "deployments" d ON d."id" = r."deployment_id"
  LEFT JOIN "work_pools" p ON p."id" = r."work_pool_id"
  ORDER BY s."seq";
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_from_flow_run_states" AFTER INSERT ON "flow_run_states"
  REFERENCING NEW TABLE AS "new_states" FOR EACH STATEMENT EXECUTE FUNCTION "events_from_flow_run_states"();--> statement-breakpoint
-- A task run that fails or crashes: created so, or moved there by an update (an update that leaves
-- the state type as it was is not an event). Two functions, as an INSERT trigger has no old table.
CREATE FUNCTION "events_from_task_runs_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("workspace_id", "occurred_at", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  SELECT t."workspace_id", t."state_timestamp", 'task-run.' || lower(t."state_type"), 'task-run', t."id"::text, t."name",
    jsonb_build_array(jsonb_build_object('kind', 'flow-run', 'id', t."flow_run_id"::text, 'name', r."name")),
    jsonb_build_object('taskRunId', t."id", 'taskKey', t."task_key", 'flowRunId', t."flow_run_id", 'attempt', t."flow_run_attempt",
      'state', jsonb_build_object('type', t."state_type", 'name', t."state_name", 'message', left(t."state_message", 1000))),
    'system'
  FROM "new_task_runs" t
  JOIN "flow_runs" r ON r."id" = t."flow_run_id"
  WHERE t."state_type" IN ('FAILED', 'CRASHED');
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION "events_from_task_runs_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("workspace_id", "occurred_at", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  SELECT t."workspace_id", t."state_timestamp", 'task-run.' || lower(t."state_type"), 'task-run', t."id"::text, t."name",
    jsonb_build_array(jsonb_build_object('kind', 'flow-run', 'id', t."flow_run_id"::text, 'name', r."name")),
    jsonb_build_object('taskRunId', t."id", 'taskKey', t."task_key", 'flowRunId', t."flow_run_id", 'attempt', t."flow_run_attempt",
      'state', jsonb_build_object('type', t."state_type", 'name', t."state_name", 'message', left(t."state_message", 1000))),
    'system'
  FROM "new_task_runs" t
  JOIN "old_task_runs" o ON o."id" = t."id"
  JOIN "flow_runs" r ON r."id" = t."flow_run_id"
  WHERE t."state_type" IN ('FAILED', 'CRASHED') AND o."state_type" IS DISTINCT FROM t."state_type";
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_from_task_runs_insert" AFTER INSERT ON "task_runs"
  REFERENCING NEW TABLE AS "new_task_runs" FOR EACH STATEMENT EXECUTE FUNCTION "events_from_task_runs_insert"();--> statement-breakpoint
CREATE TRIGGER "events_from_task_runs_update" AFTER UPDATE ON "task_runs"
  REFERENCING OLD TABLE AS "old_task_runs" NEW TABLE AS "new_task_runs" FOR EACH STATEMENT EXECUTE FUNCTION "events_from_task_runs_update"();--> statement-breakpoint
-- An asset (partition) written.
CREATE FUNCTION "events_from_asset_materializations"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("workspace_id", "occurred_at", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  SELECT m."workspace_id", m."created_at", 'asset.materialized', 'asset', m."asset_key", m."asset_key",
    jsonb_build_array(jsonb_build_object('kind', 'flow-run', 'id', m."flow_run_id"::text, 'name', NULL)),
    jsonb_build_object('assetKey', m."asset_key", 'partitionKey', m."partition_key", 'codeVersion', m."code_version",
      'dataVersion', m."data_version", 'metadata', m."metadata", 'durationMs', m."duration_ms", 'flowRunId', m."flow_run_id"),
    'system'
  FROM "new_materializations" m;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_from_asset_materializations" AFTER INSERT ON "asset_materializations"
  REFERENCING NEW TABLE AS "new_materializations" FOR EACH STATEMENT EXECUTE FUNCTION "events_from_asset_materializations"();--> statement-breakpoint
-- An asset check's result.
CREATE FUNCTION "events_from_asset_check_results"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("workspace_id", "occurred_at", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  SELECT c."workspace_id", c."created_at", CASE WHEN c."passed" THEN 'asset.check.passed' ELSE 'asset.check.failed' END,
    'asset', c."asset_key", c."asset_key",
    jsonb_build_array(jsonb_build_object('kind', 'flow-run', 'id', c."flow_run_id"::text, 'name', NULL)),
    jsonb_build_object('assetKey', c."asset_key", 'check', c."check_name", 'partitionKey', c."partition_key", 'passed', c."passed",
      'severity', c."severity", 'blocking', c."blocking", 'metadata', c."metadata", 'flowRunId', c."flow_run_id"),
    'system'
  FROM "new_results" c;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_from_asset_check_results" AFTER INSERT ON "asset_check_results"
  REFERENCING NEW TABLE AS "new_results" FOR EACH STATEMENT EXECUTE FUNCTION "events_from_asset_check_results"();--> statement-breakpoint
-- A deployment created, changed, paused, resumed or deleted.
CREATE FUNCTION "events_from_deployments"() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  d "deployments";
  kind text;
  flow_name text;
BEGIN
  IF TG_OP = 'DELETE' THEN d := OLD; kind := 'deployment.deleted';
  ELSIF TG_OP = 'INSERT' THEN d := NEW; kind := 'deployment.created';
  ELSIF OLD."paused" IS DISTINCT FROM NEW."paused" THEN d := NEW; kind := CASE WHEN NEW."paused" THEN 'deployment.paused' ELSE 'deployment.resumed' END;
  ELSE d := NEW; kind := 'deployment.updated';
  END IF;
  SELECT "name" INTO flow_name FROM "flows" WHERE "id" = d."flow_id";
  INSERT INTO "events" ("workspace_id", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  VALUES (d."workspace_id", kind, 'deployment', d."id"::text, flow_name || '/' || d."name",
    jsonb_build_array(jsonb_build_object('kind', 'flow', 'id', d."flow_id"::text, 'name', flow_name)),
    jsonb_build_object('deployment', flow_name || '/' || d."name", 'paused', d."paused", 'versionId', d."version_id"),
    'system');
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_from_deployments" AFTER INSERT OR DELETE ON "deployments"
  FOR EACH ROW EXECUTE FUNCTION "events_from_deployments"();--> statement-breakpoint
-- An update that changes nothing a user sees (updated_at alone) is not an event.
CREATE TRIGGER "events_from_deployments_update" AFTER UPDATE ON "deployments"
  FOR EACH ROW WHEN (OLD."paused" IS DISTINCT FROM NEW."paused" OR OLD."version_id" IS DISTINCT FROM NEW."version_id"
    OR OLD."parameters" IS DISTINCT FROM NEW."parameters" OR OLD."work_pool_id" IS DISTINCT FROM NEW."work_pool_id"
    OR OLD."concurrency_limit" IS DISTINCT FROM NEW."concurrency_limit" OR OLD."tags" IS DISTINCT FROM NEW."tags"
    OR OLD."retries" IS DISTINCT FROM NEW."retries")
  EXECUTE FUNCTION "events_from_deployments"();--> statement-breakpoint
-- An audited action.
CREATE FUNCTION "events_from_audit_log"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("workspace_id", "occurred_at", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  SELECT a."workspace_id", a."occurred_at", 'audit.' || lower(regexp_replace(a."action", '[^A-Za-z0-9_.-]+', '-', 'g')),
    'audit-entry', a."id"::text, a."action", '[]'::jsonb,
    jsonb_build_object('actorKind', a."actor_kind", 'actorId', a."actor_id", 'method', a."method", 'path', a."path",
      'status', a."status", 'targetIds', a."target_ids", 'resultIds', a."result_ids"),
    'system'
  FROM "new_entries" a;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "events_from_audit_log" AFTER INSERT ON "audit_log"
  REFERENCING NEW TABLE AS "new_entries" FOR EACH STATEMENT EXECUTE FUNCTION "events_from_audit_log"();
