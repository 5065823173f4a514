-- Audit events are named as every other kind is: `audit.` and the action in kebab case
-- (`apiKeysCreate` → `audit.api-keys-create`, beside `flow-run.completed` and
-- `automation.run-deployment`), instead of the action lower-cased whole (`audit.apikeyscreate`).
-- Events already written keep their kind (the ledger is append-only); the API reads a filter naming
-- either spelling as both, and an automation's expressions are read with the current spelling.
CREATE OR REPLACE FUNCTION "events_from_audit_log"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("workspace_id", "occurred_at", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  SELECT a."workspace_id", a."occurred_at",
    'audit.' || regexp_replace(lower(regexp_replace(a."action", '([a-z0-9])([A-Z])', '\1-\2', 'g')), '[^a-z0-9_.-]+', '-', 'g'),
    'audit-entry', a."id"::text, a."action", '[]'::jsonb,
    jsonb_build_object('actorKind', a."actor_kind", 'actorId', a."actor_id", 'method', a."method", 'path', a."path",
      'status', a."status", 'targetIds', a."target_ids", 'resultIds', a."result_ids"),
    'system'
  FROM "new_entries" a
  WHERE a."status" < 400;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- A restarted worker adopting its runs is internal bookkeeping under its new kind too: the partial
-- index of visible events leaves out both spellings (the list in INTERNAL_EVENT_KINDS, in its order).
DROP INDEX "events_visible_idx";--> statement-breakpoint
CREATE INDEX "events_visible_idx" ON "events" USING btree ("workspace_id", "seq")
  WHERE kind NOT IN ('audit.pool-runs-adopt', 'audit.sensorticksclaim', 'audit.sensortickscomplete', 'audit.poolrunsadopt', 'audit.poolrunssetstates', 'audit.poolrunslogswrite');
