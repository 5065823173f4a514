-- Only what happened becomes an event: a refused call (status 400 and above) stays in the audit
-- log, where reviewers read refusals, but is no longer written to the ledger, where automations,
-- the events page and waits read what changed.
CREATE OR REPLACE FUNCTION "events_from_audit_log"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "events" ("workspace_id", "occurred_at", "kind", "resource_kind", "resource_id", "resource_name", "related", "payload", "source")
  SELECT a."workspace_id", a."occurred_at", 'audit.' || lower(regexp_replace(a."action", '[^A-Za-z0-9_.-]+', '-', 'g')),
    'audit-entry', a."id"::text, a."action", '[]'::jsonb,
    jsonb_build_object('actorKind', a."actor_kind", 'actorId', a."actor_id", 'method', a."method", 'path', a."path",
      'status', a."status", 'targetIds', a."target_ids", 'resultIds', a."result_ids"),
    'system'
  FROM "new_entries" a
  WHERE a."status" < 400;
  RETURN NULL;
END
$$;
